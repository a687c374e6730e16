//! Configuration errors: each one names the setting, where its value came
//! from, and what to write instead.

use std::path::PathBuf;

use crate::resolve::Origin;
use crate::schema::Spec;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse as its type.
    #[error("{setting}={shown}: expected {expected}")]
    InvalidValue {
        /// The setting as the user wrote it (`RLM_MEMORY_LIMIT`,
        /// `sandbox.memory_limit in rlm.toml`, `--memory`).
        setting: String,
        /// The value, quoted, or `<hidden>` for secrets.
        shown: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A value of the right type that is out of range or unsafe.
    #[error("{setting}: {problem}; {fix}")]
    Refused {
        /// The setting(s) involved.
        setting: String,
        /// What is wrong.
        problem: String,
        /// What to do instead.
        fix: String,
    },
    /// An `RLM_*` environment variable that is no setting.
    #[error("unknown environment variable {name}{}; `rlm config show` lists every setting", did_you_mean(.suggestion))]
    UnknownEnv {
        /// The variable.
        name: String,
        /// The nearest valid name.
        suggestion: Option<String>,
    },
    /// A TOML key that is no setting.
    #[error("unknown key `{key}` in {}{}", .path.display(), did_you_mean(.suggestion))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// The nearest valid key.
        suggestion: Option<String>,
    },
    /// A TOML value of a type no setting takes (a table, a date).
    #[error("`{key}` in {}: a {found} is not a setting value; write a string, number or boolean", .path.display())]
    TomlType {
        /// The file.
        path: PathBuf,
        /// The dotted key.
        key: String,
        /// The TOML type found.
        found: String,
    },
    /// A file that is not valid TOML.
    #[error("{} is not valid TOML: {message}", .path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A file that cannot be read.
    #[error("cannot read config file {}: {source}; check the path given by --config or RLM_CONFIG", .path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A bug in rlm's own flag table.
    #[error("internal configuration error: {0}")]
    Internal(String),
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// How a setting is named to the user, given where its value came from.
pub(crate) fn setting_name(key: &str, spec: Option<&Spec>, origin: &Origin) -> String {
    match origin {
        Origin::Env(name) => name.clone(),
        Origin::Flag(flag) => flag.clone(),
        Origin::File(path) => format!("{key} in {}", path.display()),
        Origin::Default | Origin::Profile(_) => match spec {
            Some(s) => format!("{} ({})", s.env, key),
            None => key.to_string(),
        },
    }
}

impl ConfigError {
    pub(crate) fn invalid_value(
        key: &str,
        spec: Option<&Spec>,
        origin: &Origin,
        text: &str,
        secret: bool,
        expected: &'static str,
    ) -> Self {
        let shown = if secret {
            "<hidden>".to_string()
        } else {
            // Debug-quote so control characters in hostile input show as
            // escapes rather than acting on the terminal.
            let mut q = format!("{text:?}");
            q = q.trim_matches('"').to_string();
            format!("'{q}'")
        };
        ConfigError::InvalidValue {
            setting: setting_name(key, spec, origin),
            shown,
            expected,
        }
    }
}

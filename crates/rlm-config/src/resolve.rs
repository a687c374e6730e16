//! Layered resolution: defaults < profile < TOML file < `RLM_*` environment
//! < flags, remembering where every value came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::schema::{all_specs, profile_defaults, Config, Spec};
use crate::validate::validate;
use crate::value::{Profile, SettingValue};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// The default of the named profile.
    Profile(Profile),
    /// A TOML file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
}

impl Origin {
    /// Whether the user set this value (file, environment or flag), as
    /// opposed to a default.
    pub fn is_explicit(&self) -> bool {
        matches!(self, Origin::File(_) | Origin::Env(_) | Origin::Flag(_))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Profile(p) => write!(f, "profile {p}"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// Environment variables with the `RLM_` prefix that are not settings.
const NON_SETTING_ENV: &[&str] = &["RLM_CONFIG", "RLM_LOG", "RLM_LOG_FORMAT"];

/// Resolved text values with their origins, before typing.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    values: BTreeMap<String, (String, Origin)>,
    specs: Vec<Spec>,
}

impl Resolved {
    fn spec(&self, key: &str) -> Option<&Spec> {
        self.specs.iter().find(|s| s.key == key)
    }

    pub(crate) fn origin(&self, key: &str) -> Origin {
        self.values
            .get(key)
            .map(|(_, o)| o.clone())
            .unwrap_or(Origin::Default)
    }

    /// Parses one key's text into its type, or names the source, the value
    /// and what was expected.
    pub(crate) fn parse<T: SettingValue>(&self, key: &str) -> Result<T, ConfigError> {
        let (text, origin) = match self.values.get(key) {
            Some((t, o)) => (t.as_str(), o.clone()),
            None => {
                let default = self.spec(key).map(|s| s.default).unwrap_or("");
                (default, Origin::Default)
            }
        };
        T::parse(text).map_err(|_| {
            let secret = self.spec(key).is_some_and(|s| s.secret);
            ConfigError::invalid_value(key, self.spec(key), &origin, text, secret, T::EXPECTED)
        })
    }
}

/// The loaded configuration: typed values, their origins and warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed, validated configuration.
    pub config: Config,
    /// Where each setting came from, by TOML key.
    pub origins: BTreeMap<String, Origin>,
    /// Things that are allowed but should be said (runc under `standard`,
    /// local execution under `development`).
    pub warnings: Vec<String>,
}

impl Loaded {
    /// Every setting as `(key, shown value, origin)`, secrets masked.
    pub fn describe(&self) -> Vec<(String, String, Origin)> {
        let specs = all_specs();
        self.config
            .to_pairs()
            .into_iter()
            .map(|(key, text)| {
                let secret = specs.iter().any(|s| s.key == key && s.secret);
                let shown = if secret {
                    self.config.provider.api_key.masked()
                } else {
                    text
                };
                let origin = self.origins.get(&key).cloned().unwrap_or(Origin::Default);
                (key, shown, origin)
            })
            .collect()
    }
}

/// Builds a [`Config`] from its sources.
///
/// ```
/// use rlm_config::{ConfigLoader, Profile};
///
/// let loaded = ConfigLoader::new()
///     .env([("RLM_MEMORY_LIMIT", "1g")])
///     .flag("sandbox.pids_limit", "256", "--pids-limit")
///     .load()
///     .unwrap();
/// assert_eq!(loaded.config.general.profile, Profile::Maximum);
/// assert_eq!(loaded.config.sandbox.memory_limit.bytes(), 1 << 30);
/// assert_eq!(loaded.config.sandbox.pids_limit, 256);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigLoader {
    file: Option<PathBuf>,
    env: Vec<(String, String)>,
    flags: Vec<(String, String, String)>,
}

impl ConfigLoader {
    /// A loader with no sources: built-in defaults only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a TOML file (overrides `RLM_CONFIG`).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Takes environment variables; only `RLM_*` names are read.
    pub fn env<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Takes this process's environment.
    pub fn process_env(self) -> Self {
        // Non-UTF-8 variables cannot be RLM settings; `vars_os` keeps one
        // bad variable elsewhere in the environment from aborting the load.
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        self.env(vars)
    }

    /// Sets `key` from a command-line flag named `flag` (for messages).
    pub fn flag(mut self, key: &str, value: impl Into<String>, flag: &str) -> Self {
        self.flags
            .push((key.to_string(), value.into(), flag.to_string()));
        self
    }

    /// Resolves, types and validates.
    pub fn load(self) -> Result<Loaded, ConfigError> {
        let specs = all_specs();
        let mut layers: Vec<Vec<(String, String, Origin)>> = Vec::new();

        // File: an explicit path wins over RLM_CONFIG.
        let file = self.file.clone().or_else(|| {
            self.env
                .iter()
                .find(|(k, v)| k == "RLM_CONFIG" && !v.trim().is_empty())
                .map(|(_, v)| PathBuf::from(v.trim()))
        });
        let file_layer = match &file {
            Some(path) => read_toml(path, &specs)?,
            None => Vec::new(),
        };

        let mut env_layer = Vec::new();
        for (name, value) in &self.env {
            if !name.starts_with("RLM_") || NON_SETTING_ENV.contains(&name.as_str()) {
                continue;
            }
            let spec =
                specs
                    .iter()
                    .find(|s| &s.env == name)
                    .ok_or_else(|| ConfigError::UnknownEnv {
                        name: name.clone(),
                        suggestion: nearest(name, specs.iter().map(|s| s.env.as_str())),
                    })?;
            // An empty variable means "not set", as shells commonly use it.
            if !value.trim().is_empty() {
                env_layer.push((spec.key.clone(), value.clone(), Origin::Env(name.clone())));
            }
        }

        let mut flag_layer = Vec::new();
        for (key, value, flag) in &self.flags {
            if !specs.iter().any(|s| &s.key == key) {
                return Err(ConfigError::Internal(format!(
                    "flag {flag} maps to unknown setting {key}"
                )));
            }
            flag_layer.push((key.clone(), value.clone(), Origin::Flag(flag.clone())));
        }

        // The profile picks the defaults below the explicit layers, so it
        // is resolved first from those layers alone.
        let mut profile_pick = Resolved {
            values: BTreeMap::new(),
            specs: specs.clone(),
        };
        for (key, value, origin) in file_layer.iter().chain(&env_layer).chain(&flag_layer) {
            if key == "profile" {
                profile_pick
                    .values
                    .insert(key.clone(), (value.clone(), origin.clone()));
            }
        }
        let profile: Profile = profile_pick.parse("profile")?;
        layers.push(
            profile_defaults(profile)
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string(), Origin::Profile(profile)))
                .collect(),
        );
        layers.push(file_layer);
        layers.push(env_layer);
        layers.push(flag_layer);

        let mut resolved = Resolved {
            values: BTreeMap::new(),
            specs: specs.clone(),
        };
        for layer in layers {
            for (key, value, origin) in layer {
                resolved.values.insert(key, (value, origin));
            }
        }

        let config = Config::from_resolved(&resolved)?;
        let origins: BTreeMap<String, Origin> = specs
            .iter()
            .map(|s| (s.key.clone(), resolved.origin(&s.key)))
            .collect();
        let warnings = validate(&config, &origins)?;
        for w in &warnings {
            tracing::warn!(target: "rlm_config", "{w}");
        }
        Ok(Loaded {
            config,
            origins,
            warnings,
        })
    }
}

/// The closest candidate to `name`, when one is close enough to be a typo.
fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

fn read_toml(path: &Path, specs: &[Spec]) -> Result<Vec<(String, String, Origin)>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Toml {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse_toml(&text, path, specs)
}

pub(crate) fn parse_toml(
    text: &str,
    path: &Path,
    specs: &[Spec],
) -> Result<Vec<(String, String, Origin)>, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    flatten(&table, "", path, specs, &mut out)?;
    Ok(out)
}

fn flatten(
    table: &toml::Table,
    prefix: &str,
    path: &Path,
    specs: &[Spec],
    out: &mut Vec<(String, String, Origin)>,
) -> Result<(), ConfigError> {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let is_leaf = specs.iter().any(|s| s.key == key);
        let is_section = specs.iter().any(|s| s.key.starts_with(&format!("{key}.")));
        let unknown = || ConfigError::UnknownKey {
            path: path.to_path_buf(),
            key: key.clone(),
            suggestion: nearest(&key, specs.iter().map(|s| s.key.as_str())),
        };
        match value {
            toml::Value::Table(inner) if is_section => flatten(inner, &key, path, specs, out)?,
            _ if !is_leaf => return Err(unknown()),
            other => {
                let text = toml_text(other).ok_or_else(|| ConfigError::TomlType {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    found: other.type_str().to_string(),
                })?;
                out.push((key, text, Origin::File(path.to_path_buf())));
            }
        }
    }
    Ok(())
}

fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(format!("{f:?}")),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

/// Renders a configuration as a TOML file that loads back to the same
/// configuration. The API key is left out: keys belong in the environment
/// or a secrets manager, not in files.
pub fn to_toml(config: &Config) -> String {
    let specs = all_specs();
    let mut sections: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut top = Vec::new();
    for (key, text) in config.to_pairs() {
        if specs.iter().any(|s| s.key == key && s.secret) {
            continue;
        }
        match key.rsplit_once('.') {
            Some((section, leaf)) => sections
                .entry(section.to_string())
                .or_default()
                .push((leaf.to_string(), text)),
            None => top.push((key, text)),
        }
    }
    let mut out = String::new();
    for (k, v) in top {
        out.push_str(&format!("{k} = {}\n", toml_quote(&v)));
    }
    for (section, entries) in sections {
        out.push_str(&format!("\n[{section}]\n"));
        for (k, v) in entries {
            out.push_str(&format!("{k} = {}\n", toml_quote(&v)));
        }
    }
    out
}

fn toml_quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

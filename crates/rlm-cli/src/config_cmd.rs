//! `rlm config show|keys|check`: the effective configuration and its sources.

use std::io::Write;

use rlm_config::{all_specs, ConfigLoader};

use crate::exit;

/// What `rlm config` does.
#[derive(clap::Subcommand)]
pub(crate) enum ConfigCommand {
    /// Every setting, its effective value and where it came from (the API key masked).
    Show {
        /// One JSON object per setting instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Every setting's TOML key, environment variable, default and meaning.
    Keys,
    /// Load and validate; print warnings; exit 2 on an error.
    Check,
}

pub(crate) fn run(cmd: &ConfigCommand, loader: ConfigLoader) -> i32 {
    if let ConfigCommand::Keys = cmd {
        let mut out = std::io::stdout().lock();
        for s in all_specs() {
            let default = if s.default.is_empty() {
                "(unset)"
            } else {
                s.default
            };
            let _ = writeln!(
                out,
                "{:<38} {:<40} {:<28} {}",
                s.key, s.env, default, s.help
            );
        }
        return exit::OK;
    }
    let loaded = match loader.load() {
        Ok(l) => l,
        Err(e) => return exit::config_error(&e),
    };
    let mut out = std::io::stdout().lock();
    match cmd {
        ConfigCommand::Show { json } => {
            for (key, value, origin) in loaded.describe() {
                if *json {
                    let line = serde_json::json!({"key": key, "value": value, "source": origin.to_string()});
                    let _ = writeln!(out, "{line}");
                } else {
                    let _ = writeln!(out, "{key:<38} {value:<28} ({origin})");
                }
            }
        }
        ConfigCommand::Check => {
            let _ = writeln!(
                out,
                "configuration ok (profile {})",
                loaded.config.general.profile
            );
        }
        ConfigCommand::Keys => {}
    }
    for w in &loaded.warnings {
        eprintln!("rlm: warning: {w}");
    }
    exit::OK
}

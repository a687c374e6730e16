//! Exit codes shared by every subcommand, and how errors reach the user.

use rlm_config::ConfigError;

/// Success.
pub(crate) const OK: i32 = 0;
/// Usage, configuration or I/O error.
pub(crate) const USAGE: i32 = 2;

/// Prints a configuration error and returns the usage exit code.
pub(crate) fn config_error(e: &ConfigError) -> i32 {
    eprintln!("rlm: configuration error: {e}");
    USAGE
}

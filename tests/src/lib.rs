//! Helpers for the end-to-end tests in `tests/tests/`: finding the `rlm`
//! binary and deciding whether Docker-backed tests may skip.

// A skipped test says so on stderr, where cargo test shows it.
#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;

/// The `rlm` binary under test: `RLM_BIN`, or the workspace's
/// `target/debug/rlm` (`cargo xtask ci` builds it before the tests).
pub fn rlm_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RLM_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug").join("rlm");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p rlm-cli` first (cargo xtask ci does), or set RLM_BIN",
        bin.display()
    );
    bin
}

/// A `Command` for `rlm` with no `RLM_*` variable inherited from the
/// developer's shell, so tests see only what they set.
pub fn rlm() -> Command {
    let mut cmd = Command::new(rlm_bin());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("RLM_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Whether a Docker engine answers. Under `CI=true` a missing engine is a
/// failure, never a skip: this panics there.
pub fn docker_available(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "{test}: Docker is not reachable and CI=true: run `cargo xtask setup`"
        );
        eprintln!("{test}: skipped, Docker is not reachable (run `cargo xtask setup`)");
    }
    ok
}

//! `cargo xtask security`: the live attack suite against the sandbox.
//!
//! Runs `cargo run -p rlm-runtime --example security` (see
//! `crates/rlm-runtime/examples/security.rs` and
//! `docs/layers/security-suite.md`): every attack under gVisor (`runsc`) and
//! `runc`. Fails when any attack escapes or any verdict cannot be reached.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::root;

/// Options of `cargo xtask security`.
#[derive(clap::Args, Default)]
pub(crate) struct SecurityArgs {
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only this runtime (repeatable; default: runsc and runc).
    #[arg(long, value_parser = ["runsc", "runc"])]
    runtime: Vec<String>,
    /// Only attacks whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

pub(crate) fn run(args: &SecurityArgs) -> Result<()> {
    let mut argv: Vec<&str> = vec!["run", "-p", "rlm-runtime", "--example", "security", "--"];
    for r in &args.runtime {
        argv.extend(["--runtime", r.as_str()]);
    }
    if args.json {
        argv.push("--json");
    }
    if let Some(o) = &args.only {
        argv.extend(["--only", o.as_str()]);
    }
    // Echoed on stderr: with --json, stdout is the report alone.
    eprintln!("$ cargo {}", argv.join(" "));
    let status = Command::new("cargo")
        .args(&argv)
        .current_dir(root())
        .status()
        .context("cannot start cargo")?;
    if !status.success() {
        bail!("the security suite failed ({status}): an attack escaped or a verdict could not be reached");
    }
    Ok(())
}

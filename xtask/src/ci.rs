//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use anyhow::{bail, Result};

use crate::cmd::{self, has, is_ci};
use crate::setup::{self, SetupArgs};

/// Options of `cargo xtask ci`.
#[derive(clap::Args)]
pub(crate) struct CiArgs {
    /// Skip `cargo xtask setup` (the machine is known to be ready).
    #[arg(long)]
    skip_setup: bool,
    /// Skip the live security suite.
    #[arg(long)]
    skip_security: bool,
}

pub(crate) fn run(args: &CiArgs) -> Result<()> {
    if !args.skip_setup {
        setup::run(&SetupArgs::default())?;
    } else if is_ci() {
        bail!("--skip-setup is not allowed under CI=true: CI starts from a fresh machine");
    }
    cmd::run("cargo", &["fmt", "--all", "--", "--check"])?;
    cmd::run(
        "cargo",
        &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
    )?;
    if !has("cargo-deny") {
        cmd::run("cargo", &["install", "cargo-deny", "--locked"])?;
    }
    // The advisory database cannot be fetched here: licenses, bans, sources.
    cmd::run("cargo", &["deny", "--offline", "check", "licenses", "bans", "sources"])?;
    cmd::run("cargo", &["build", "--workspace", "--bins", "--locked"])?;
    cmd::run("cargo", &["test", "--workspace", "--locked"])?;
    if !args.skip_security {
        crate::security::run(&crate::security::SecurityArgs::default())?;
    }
    println!("ci: all checks passed");
    Ok(())
}

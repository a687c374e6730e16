//! `cargo xtask demo`: set up, then run the main job.

use anyhow::Result;

use crate::cmd;
use crate::setup::{self, SetupArgs};

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {}

pub(crate) fn run(_args: &DemoArgs) -> Result<()> {
    setup::run(&SetupArgs::default())?;
    cmd::run("cargo", &["run", "--quiet", "--bin", "rlm", "--", "doctor"])?;
    Ok(())
}

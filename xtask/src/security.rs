//! `cargo xtask security`: the live attack suite against the sandbox.

use anyhow::Result;

/// Options of `cargo xtask security`.
#[derive(clap::Args, Default)]
pub(crate) struct SecurityArgs {}

pub(crate) fn run(_args: &SecurityArgs) -> Result<()> {
    println!("security: the attack suite arrives with rlm-runtime's sessions; nothing to run yet");
    Ok(())
}

//! `cargo xtask fuzz`: every fuzz target of the workspace, bounded in time.

use std::fs;

use anyhow::{bail, Result};

use crate::cmd::{self, has, root};

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub(crate) struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Only targets whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

pub(crate) fn run(args: &FuzzArgs) -> Result<()> {
    if !has("cargo-fuzz") {
        cmd::run("cargo", &["install", "cargo-fuzz", "--locked"])?;
    }
    let mut dirs = Vec::new();
    for entry in fs::read_dir(root().join("crates"))?.flatten() {
        let fuzz = entry.path().join("fuzz");
        if fuzz.join("Cargo.toml").is_file() {
            dirs.push(fuzz);
        }
    }
    dirs.sort();
    let mut ran = 0;
    for dir in dirs {
        let dir_s = dir.display().to_string();
        let (ok, list, err) =
            cmd::capture("cargo", &["+nightly", "fuzz", "list", "--fuzz-dir", &dir_s])?;
        if !ok {
            bail!("cannot list fuzz targets in {dir_s}: {err}");
        }
        for target in list.lines().map(str::trim).filter(|t| !t.is_empty()) {
            if args.only.as_deref().is_some_and(|o| !target.contains(o)) {
                continue;
            }
            let max_time = format!("-max_total_time={}", args.seconds);
            let mut argv = vec![
                "+nightly".to_string(),
                "fuzz".into(),
                "run".into(),
                "--fuzz-dir".into(),
                dir_s.clone(),
                target.into(),
                "--".into(),
                max_time,
            ];
            // A dictionary of the target's keywords, when it has one, lets
            // libFuzzer reach the rules' paths in seconds instead of hours.
            let dict = dir.join(format!("{target}.dict"));
            if dict.is_file() {
                argv.push(format!("-dict={}", dict.display()));
            }
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            cmd::run("cargo", &argv)?;
            ran += 1;
        }
    }
    if ran == 0 {
        bail!("no fuzz target found under crates/*/fuzz");
    }
    println!(
        "fuzz: {ran} target(s) ran {} s each with no crash",
        args.seconds
    );
    Ok(())
}

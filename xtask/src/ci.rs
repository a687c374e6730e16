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
    let started = std::time::Instant::now();
    if !args.skip_setup {
        setup::run(&SetupArgs::default())?;
    } else if is_ci() {
        bail!("--skip-setup is not allowed under CI=true: CI starts from a fresh machine");
    }
    cmd::run("cargo", &["fmt", "--all", "--", "--check"])?;
    cmd::run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    cmd::run("cargo", &["build", "--workspace", "--bins", "--locked"])?;
    standalone_layers()?;
    if !has("cargo-deny") {
        cmd::run("cargo", &["install", "cargo-deny", "--locked"])?;
    }
    // The advisory database cannot be fetched here: licenses, bans, sources.
    cmd::run("cargo", &["deny", "check", "licenses", "bans", "sources"])?;
    let tally = tests()?;
    if !args.skip_security {
        crate::security::run(&crate::security::SecurityArgs::default())?;
    }
    println!(
        "ci: all checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // The plain closing line CI reads.
    println!(
        "tests: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.ignored
    );
    Ok(())
}

/// Crates other projects reuse alone must not pull an async runtime or a
/// Docker client into their users' builds.
fn standalone_layers() -> Result<()> {
    const FORBIDDEN: &[&str] = &["tokio", "bollard", "async-std", "smol", "hyper", "reqwest"];
    for krate in ["rlm-egress", "rlm-budget", "rlm-circuit"] {
        let (ok, tree, err) = cmd::capture(
            "cargo",
            &[
                "tree",
                "-p",
                krate,
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "--locked",
            ],
        )?;
        if !ok {
            bail!("cargo tree -p {krate} failed: {err}");
        }
        let bad: Vec<&str> = tree
            .lines()
            .filter(|l| {
                FORBIDDEN
                    .iter()
                    .any(|f| l.split_whitespace().next() == Some(*f))
            })
            .collect();
        if !bad.is_empty() {
            bail!(
                "{krate} must stay free of async runtimes and Docker clients, but its tree has: {}",
                bad.join(", ")
            );
        }
        println!("ci: {krate} has no async runtime or Docker client in its tree");
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Runs every test of the workspace, echoing the output and adding up
/// cargo's "test result" lines.
fn tests() -> Result<Tally> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    println!("$ cargo test --workspace --locked");
    let mut child = Command::new("cargo")
        .args(["test", "--workspace", "--locked"])
        .current_dir(cmd::root())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut tally = Tally::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                for part in rest.split(';') {
                    let mut words = part.split_whitespace().rev();
                    let (Some(what), Some(n)) = (words.next(), words.next()) else {
                        continue;
                    };
                    let n: u64 = n.parse().unwrap_or(0);
                    match what {
                        "passed" => tally.passed += n,
                        "failed" => tally.failed += n,
                        "ignored" => tally.ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "tests failed: {} passed, {} failed",
            tally.passed,
            tally.failed
        );
    }
    if tally.passed == 0 {
        bail!("cargo test ran no test");
    }
    Ok(tally)
}

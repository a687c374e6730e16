//! Project automation for rlm, reached as `cargo xtask <command>`.
//!
//! - `setup`: make this machine an rlm sandbox host (Docker, gVisor, image).
//! - `demo`: set up, then run the main job.
//! - `ci`: set up, then every check CI runs (fmt, clippy, deny, tests).
//! - `security`: the live attack suite against the sandbox.
//! - `fuzz`: every fuzz target of the workspace for a bounded time.
//! - `bench`: every criterion bench, plus `target/bench-report.json`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // xtask talks to a person

mod bench;
mod ci;
mod cmd;
mod demo;
mod fuzz;
mod image;
mod security;
mod setup;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "rlm project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install Docker and gVisor, start the daemon, build the sandbox image, verify.
    Setup(setup::SetupArgs),
    /// Set up, then run the main job: an RLM run over the bundled example.
    Demo(demo::DemoArgs),
    /// Set up, then fmt, clippy, cargo deny and every test of the workspace.
    Ci(ci::CiArgs),
    /// Run the live attack suite against the sandbox under runsc and runc.
    Security(security::SecurityArgs),
    /// Run every fuzz target of the workspace for a bounded time.
    Fuzz(fuzz::FuzzArgs),
    /// Run every benchmark and write target/bench-report.json.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup(a) => setup::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Ci(a) => ci::run(&a),
        Command::Security(a) => security::run(&a),
        Command::Fuzz(a) => fuzz::run(&a),
        Command::Bench(a) => bench::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

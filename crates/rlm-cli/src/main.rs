//! The `rlm` command: run an RLM over a context, execute code in the
//! sandbox, filter text, diagnose the host, show the configuration, verify
//! audit logs.
//!
//! Every subcommand builds its configuration the same way: defaults <
//! profile < `--config FILE`/`RLM_CONFIG` < `RLM_*` < flags.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI talks to a person

mod audit_cmd;
mod config_cmd;
mod doctor;
mod egress_cmd;
mod exec_cmd;
mod exit;
mod interrupt;
mod run_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rlm_config::ConfigLoader;

#[derive(Parser)]
#[command(
    name = "rlm",
    version,
    about = "Recursive Language Models, run where model code cannot hurt anyone"
)]
struct Cli {
    /// TOML configuration file (also RLM_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Security profile: maximum, standard or development (also RLM_PROFILE).
    #[arg(long, global = true, value_name = "PROFILE")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer a question over a context with a Recursive Language Model.
    Run(run_cmd::RunArgs),
    /// Run Python in a hardened sandbox, with every layer.
    Exec(exec_cmd::ExecArgs),
    /// Filter text through the leak filter (secrets, encoded secrets, context echo).
    Egress(egress_cmd::EgressArgs),
    /// Diagnose this host: Docker, runtimes, gVisor probe, image, configuration.
    Doctor(doctor::DoctorArgs),
    /// Verify a hash-chained audit log.
    Audit(audit_cmd::AuditArgs),
    /// Show or check the configuration.
    Config {
        #[command(subcommand)]
        command: config_cmd::ConfigCommand,
    },
}

impl Cli {
    /// The loader every subcommand starts from: process environment, the
    /// config file and the global flags.
    fn loader(&self) -> ConfigLoader {
        let mut loader = ConfigLoader::new().process_env();
        if let Some(path) = &self.config {
            loader = loader.file(path);
        }
        if let Some(p) = &self.profile {
            loader = loader.flag("profile", p.clone(), "--profile");
        }
        loader
    }
}

fn init_tracing() {
    // Diagnostics go to stderr so stdout stays the command's output.
    let filter = tracing_subscriber::EnvFilter::try_from_env("RLM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Runs an async subcommand on a fresh multi-threaded runtime.
fn block_on(fut: impl std::future::Future<Output = i32>) -> i32 {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => {
            eprintln!("rlm: cannot start the async runtime: {e}");
            exit::USAGE
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    init_tracing();
    let loader = cli.loader();
    let code = match &cli.command {
        Command::Config { command } => config_cmd::run(command, loader),
        Command::Doctor(args) => block_on(interrupt::exit_on_signal(
            "rlm doctor",
            doctor::run(args, loader),
        )),
        Command::Egress(args) => egress_cmd::run(args),
        Command::Exec(args) => block_on(interrupt::exit_on_signal(
            "rlm exec",
            exec_cmd::run(args, loader),
        )),
        Command::Run(args) => block_on(interrupt::exit_on_signal(
            "rlm run",
            run_cmd::run(args, loader),
        )),
        Command::Audit(args) => audit_cmd::run(args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

//! `cargo xtask demo`: set up, then run the main job — a full RLM run over
//! the bundled example context.
//!
//! With a provider configured (`RLM_API_KEY` or `RLM_API_BASE_URL`), the
//! run uses it. Without one, it replays the bundled recorded trajectory: the
//! model's replies come from the recording, the code runs for real in the
//! sandbox, and the screen says so.

use std::fs;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, root};
use crate::setup::{self, SetupArgs};

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Skip `cargo xtask setup`.
    #[arg(long)]
    skip_setup: bool,
    /// Print the run's JSON summary instead of the answer alone.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    if !args.skip_setup {
        setup::run(&SetupArgs::default())?;
    }
    let demo = root().join("examples").join("demo");
    let context = demo.join("context.txt");
    let trajectory = demo.join("trajectory.jsonl");
    let question = fs::read_to_string(demo.join("question.txt"))
        .with_context(|| format!("{} is missing", demo.join("question.txt").display()))?;
    if !context.is_file() || !trajectory.is_file() {
        bail!("the bundled demo is missing from {}", demo.display());
    }
    cmd::run("cargo", &["build", "--quiet", "--bin", "rlm"])?;
    let rlm = root().join("target").join("debug").join("rlm");
    let rlm = rlm.display().to_string();
    let context_s = context.display().to_string();
    let trajectory_s = format!("replay:{}", trajectory.display());
    let live = ["RLM_API_KEY", "RLM_API_BASE_URL"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()));
    let mut run_args = vec!["run", "--context", &context_s];
    if live {
        println!(
            "demo: a provider is configured: a live RLM run over {}",
            context.display()
        );
    } else {
        println!(
            "demo: no provider configured (RLM_API_KEY / RLM_API_BASE_URL unset): replaying the \
             recorded model replies of {} — the code runs for real in the sandbox",
            trajectory.display()
        );
        run_args.extend(["--llm", &trajectory_s]);
    }
    if args.json {
        run_args.push("--json");
    }
    let question = question.trim();
    println!("demo: question: {question}");
    run_args.push(question);
    cmd::run(&rlm, &run_args)
}

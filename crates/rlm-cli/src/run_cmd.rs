//! `rlm run`: a Recursive Language Model run over a context.
//!
//! Exit status: 0 answered; 2 usage or configuration; 3 sandbox
//! unavailable; 4 budget (money, tokens, calls); 5 iteration limit; 6 depth
//! limit; 7 wall-clock limit; 8 provider failure; 9 answer blocked by the
//! egress filter; 1 internal error; 130 interrupted by Ctrl-C (143 by
//! SIGTERM), every sandbox of the run removed first.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use rlm_config::ConfigLoader;
use rlm_orchestrator::provider::{build_provider, LlmChoice};
use rlm_orchestrator::record::{AuditLog, Recorder, Trajectory};
use rlm_orchestrator::sandbox::RuntimeRepls;
use rlm_orchestrator::{
    exit, Approver, ContextInput, Orchestrator, Progress, RunError, RunRequest,
};
use serde_json::json;

/// `rlm run`.
#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The question to answer over the context.
    #[arg(value_name = "QUERY")]
    query: String,
    /// The context file (mounted read-only in the sandbox as `context`).
    #[arg(long, value_name = "PATH")]
    context: Option<PathBuf>,
    /// Iterations of each session's loop (RLM_MAX_ITERATIONS).
    #[arg(long, value_name = "N")]
    max_iterations: Option<u32>,
    /// Deepest rlm_query recursion (RLM_MAX_RECURSION_DEPTH).
    #[arg(long, value_name = "N")]
    max_depth: Option<u32>,
    /// Money limit of the whole run in USD (RLM_COST_LIMIT_USD).
    #[arg(long, value_name = "USD")]
    cost_limit_usd: Option<String>,
    /// Print a JSON object instead of the bare answer.
    #[arg(long)]
    json: bool,
    /// The model source: `replay:FILE` replays a recorded run (default: the configured provider).
    #[arg(long, value_name = "SPEC")]
    llm: Option<String>,
    /// Save the run (a trajectory that `--llm replay:FILE` can replay).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Show each code cell and ask before running it (needs a terminal).
    #[arg(long)]
    approve: bool,
    /// openai or anthropic (RLM_API_PROVIDER).
    #[arg(long, value_name = "NAME")]
    api_provider: Option<String>,
    /// Base URL of the provider's API (RLM_API_BASE_URL).
    #[arg(long, value_name = "URL")]
    api_base_url: Option<String>,
    /// The root model (RLM_MODEL_NAME).
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// The sub-call model (RLM_SUB_MODEL_NAME).
    #[arg(long, value_name = "MODEL")]
    sub_model: Option<String>,
}

/// Asks on the terminal before each cell.
struct TtyApprover;

impl Approver for TtyApprover {
    fn approve<'a>(
        &'a self,
        session: &'a str,
        code: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let session = session.to_string();
        let code = code.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "\n── cell from session {session} ──────────────\n{code}\n──────────────"
                );
                let _ = write!(err, "Run this cell? [y/N] ");
                let _ = err.flush();
                drop(err);
                let mut line = String::new();
                if std::io::stdin().read_line(&mut line).is_err() {
                    return false;
                }
                matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
            })
            .await
            .unwrap_or(false)
        })
    }
}

fn usage(msg: impl std::fmt::Display) -> i32 {
    eprintln!("rlm run: {msg}");
    exit::USAGE
}

/// Runs `rlm run`; returns the exit status.
pub(crate) async fn run(args: &RunArgs, loader: rlm_config::ConfigLoader) -> i32 {
    let loader = apply_flags(args, loader);
    let loaded = match loader.load() {
        Ok(l) => l,
        Err(e) => return usage(format!("configuration error: {e}")),
    };
    for w in &loaded.warnings {
        eprintln!("rlm run: warning: {w}");
    }
    let config = loaded.config;
    if args.approve && !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return usage("--approve asks before each cell and needs an interactive terminal; run without it or from a TTY");
    }
    let choice = match args.llm.as_deref().map(LlmChoice::parse).transpose() {
        Ok(c) => c.unwrap_or(LlmChoice::Configured),
        Err(e) => return usage(e),
    };
    let provider = match build_provider(&choice, &config.provider) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    if let Some(p) = &args.context {
        if !p.is_file() {
            return usage(format!("--context {}: no such file", p.display()));
        }
    }
    let mut trajectories = Vec::new();
    for path in config
        .records
        .trajectory_path
        .iter()
        .chain(args.record.iter())
    {
        match Trajectory::create(path) {
            Ok(t) => trajectories.push(t),
            Err(e) => return usage(e),
        }
    }
    let audit = match &config.records.audit_path {
        Some(p) => match AuditLog::create(p) {
            Ok(a) => Some(a),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let repls = match RuntimeRepls::from_config(&config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rlm run: {e}");
            return e.exit_code();
        }
    };
    let orchestrator =
        match Orchestrator::builder(&config, provider, Arc::new(repls)).and_then(|b| b.build()) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("rlm run: {e}");
                return e.exit_code();
            }
        };
    let recorder = Recorder::new(trajectories, audit);
    let mut request = RunRequest::new(
        args.query.clone(),
        args.context
            .clone()
            .map_or(ContextInput::None, ContextInput::File),
    );
    request.recorder = recorder.clone();
    if args.approve {
        request.approver = Some(Arc::new(TtyApprover));
    }
    let tty = std::io::stderr().is_terminal();
    if tty {
        request.progress = Some(Arc::new(|p: &Progress| {
            eprint!(
                "\r\x1b[2K[rlm] {} iteration {}/{} · ${:.4} · {} LLM calls",
                p.session, p.iteration, p.max_iterations, p.cost_usd, p.llm_calls
            );
        }));
    }
    // Ctrl-C is handled around the whole command (`interrupt.rs`).
    let report = orchestrator.run(request).await;
    if tty {
        eprint!("\r\x1b[2K");
    }
    if let Some(e) = recorder.first_error() {
        eprintln!("rlm run: warning: a record could not be written: {e}");
    }
    let code = report.exit_code();
    if args.json {
        let b = &report.budget;
        let (answer, error, kind) = match &report.outcome {
            Ok(a) => (json!(a), json!(null), json!(null)),
            Err(e) => (json!(null), json!(e.to_string()), json!(e.kind())),
        };
        let out = json!({
            "answer": answer,
            "iterations": report.iterations,
            "cost_usd": b.spent_usd(),
            "input_tokens": b.input_tokens,
            "output_tokens": b.output_tokens,
            "llm_calls": b.llm_calls,
            "error": error,
            "error_kind": kind,
            "exit_code": code,
            "elapsed_ms": report.elapsed.as_millis() as u64,
            "sessions": b.sessions,
            "deepest": b.deepest,
        });
        println!("{out}");
    } else if let Ok(answer) = &report.outcome {
        println!("{answer}");
    }
    if let Err(e) = &report.outcome {
        eprintln!("rlm run: {e}");
        if let RunError::Budget(_) | RunError::Iterations { .. } | RunError::Deadline(_) = e {
            eprintln!(
                "rlm run: spent ${:.4} over {} LLM calls in {} iterations",
                report.budget.spent_usd(),
                report.budget.llm_calls,
                report.iterations
            );
        }
    }
    code
}

fn apply_flags(args: &RunArgs, mut loader: ConfigLoader) -> ConfigLoader {
    let flags: [(&str, Option<String>, &str); 7] = [
        (
            "budget.max_iterations",
            args.max_iterations.map(|n| n.to_string()),
            "--max-iterations",
        ),
        (
            "budget.max_recursion_depth",
            args.max_depth.map(|n| n.to_string()),
            "--max-depth",
        ),
        (
            "budget.cost_limit_usd",
            args.cost_limit_usd.clone(),
            "--cost-limit-usd",
        ),
        (
            "provider.api_provider",
            args.api_provider.clone(),
            "--api-provider",
        ),
        (
            "provider.api_base_url",
            args.api_base_url.clone(),
            "--api-base-url",
        ),
        ("provider.model_name", args.model.clone(), "--model"),
        (
            "provider.sub_model_name",
            args.sub_model.clone(),
            "--sub-model",
        ),
    ];
    for (key, value, flag) in flags {
        if let Some(v) = value {
            loader = loader.flag(key, v, flag);
        }
    }
    loader
}

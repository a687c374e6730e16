//! `rlm exec [--context PATH] [--runtime auto|runsc|runc] [--allow-unsafe-runtime]
//! [--timeout S] [--memory 512m] [--json] FILE|-`
//!
//! Runs one piece of Python in a fresh sandbox session with every layer on
//! (hardened container, gVisor unless refused, import hook, egress filter
//! with the context protected). Filtered stdout goes to stdout, filtered
//! stderr (and a raised exception's traceback) to stderr.
//!
//! Exit status: 0 ok; 1 the code raised or exited non-zero; 124 timeout;
//! 137 out of memory; 2 usage or configuration error; 3 sandbox
//! unavailable or refused; 130 interrupted by Ctrl-C (143 by SIGTERM), the
//! sandbox removed first. Other tools depend on this contract.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rlm_config::{ConfigLoader, EgressMode, ExecutionMode};
use rlm_egress::{EgressFilter, Mode};
use rlm_runtime::{
    DockerSandbox, ExecOutcome, ExecRequest, ExecStatus, LocalSandbox, RuntimeError, Sandbox,
    SessionInfo, SessionRequest,
};

/// Exit: usage or configuration error.
const USAGE: i32 = 2;
/// Exit: the sandbox is unavailable or refused.
const UNAVAILABLE: i32 = 3;

/// Run Python code in a sandbox session with every isolation layer.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ExecArgs {
    /// File mounted read-only in the sandbox as `context` (and protected by
    /// the egress filter).
    #[arg(long, value_name = "PATH")]
    pub(crate) context: Option<PathBuf>,
    /// OCI runtime: auto (gVisor when present), runsc or runc
    /// (sets sandbox.docker_runtime).
    #[arg(long, value_name = "auto|runsc|runc")]
    pub(crate) runtime: Option<String>,
    /// Allow runc when gVisor is missing (sets sandbox.allow_unsafe_runtime).
    #[arg(long)]
    pub(crate) allow_unsafe_runtime: bool,
    /// Time the code may run, in seconds or like 500ms (sets
    /// sandbox.execution_timeout).
    #[arg(long, value_name = "S")]
    pub(crate) timeout: Option<String>,
    /// Memory limit like 512m (sets sandbox.memory_limit).
    #[arg(long, value_name = "SIZE")]
    pub(crate) memory: Option<String>,
    /// Print one JSON object instead of the output.
    #[arg(long)]
    pub(crate) json: bool,
    /// The Python file to run, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub(crate) file: String,
}

/// Runs `rlm exec`; returns the exit status.
pub(crate) async fn run(args: &ExecArgs, loader: ConfigLoader) -> i32 {
    match run_inner(args, loader).await {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("rlm exec: {message}");
            if args.json {
                let v = serde_json::json!({ "error": message, "exit_code": code });
                println!("{v}");
            }
            code
        }
    }
}

fn runtime_exit(e: &RuntimeError) -> i32 {
    match e {
        RuntimeError::Config(_) | RuntimeError::Context { .. } => USAGE,
        _ => UNAVAILABLE,
    }
}

async fn run_inner(args: &ExecArgs, mut loader: ConfigLoader) -> Result<i32, (i32, String)> {
    let code = read_code(&args.file).map_err(|e| (USAGE, e))?;
    if let Some(r) = &args.runtime {
        loader = loader.flag("sandbox.docker_runtime", r.clone(), "--runtime");
    }
    if args.allow_unsafe_runtime {
        loader = loader.flag(
            "sandbox.allow_unsafe_runtime",
            "true",
            "--allow-unsafe-runtime",
        );
    }
    if let Some(t) = &args.timeout {
        loader = loader.flag("sandbox.execution_timeout", t.clone(), "--timeout");
    }
    if let Some(m) = &args.memory {
        loader = loader.flag("sandbox.memory_limit", m.clone(), "--memory");
    }
    let loaded = loader
        .load()
        .map_err(|e| (USAGE, format!("configuration error: {e}")))?;
    // rlm-config already logs loaded.warnings.
    let config = loaded.config;

    // The egress filter, with the context protected: no verbatim run of it
    // longer than max_context_echo leaves through this command.
    let mut builder = EgressFilter::builder()
        .mode(match config.egress.mode {
            EgressMode::Redact => Mode::Redact,
            EgressMode::Block => Mode::Block,
        })
        .max_output_bytes(Some(
            usize::try_from(config.egress.max_stdout_bytes.bytes()).unwrap_or(usize::MAX),
        ))
        .max_context_echo(
            usize::try_from(config.egress.max_context_echo.bytes()).unwrap_or(usize::MAX),
        )
        .entropy_threshold(config.egress.entropy_threshold);
    if let Some(path) = &args.context {
        let data = std::fs::read(path).map_err(|e| {
            (
                USAGE,
                format!("cannot read context file {}: {e}", path.display()),
            )
        })?;
        builder = builder.protected_context(data);
    }
    let filter = builder
        .build()
        .map_err(|e| (USAGE, format!("egress filter: {e}")))?;

    let sandbox: Arc<dyn Sandbox> = match config.sandbox.execution_mode {
        ExecutionMode::Local => {
            Arc::new(LocalSandbox::new(&config).map_err(|e| (runtime_exit(&e), e.to_string()))?)
        }
        ExecutionMode::Docker => Arc::new(
            DockerSandbox::new(&config)
                .await
                .map_err(|e| (runtime_exit(&e), e.to_string()))?,
        ),
    };
    let mut req = SessionRequest::new();
    if let Some(p) = &args.context {
        req = req.context(p);
    }
    let mut session = sandbox
        .start(req)
        .await
        .map_err(|e| (runtime_exit(&e), e.to_string()))?;
    let info = session.info().clone();

    // Ctrl-C is handled around the whole command (`interrupt.rs`): the
    // session is dropped, which removes its container.
    let result = session.exec(ExecRequest::new(code)).await;
    session.close().await;
    let outcome = result.map_err(|e| (UNAVAILABLE, e.to_string()))?;
    Ok(report(args, &filter, &info, &outcome))
}

/// Prints the filtered outcome; returns the exit status.
fn report(args: &ExecArgs, filter: &EgressFilter, info: &SessionInfo, o: &ExecOutcome) -> i32 {
    let code = o.exit_code();
    let (stdout, out_findings) = filtered(filter, &o.stdout, "stdout");
    let (stderr, err_findings) = filtered(filter, &o.stderr, "stderr");
    let exception = o.exception.as_ref().map(|e| {
        let (message, _) = filtered(filter, &e.message, "exception message");
        let (traceback, _) = filtered(filter, &e.traceback, "traceback");
        (e.kind.clone(), message, traceback)
    });
    if args.json {
        let v = serde_json::json!({
            "stdout": stdout,
            "stderr": stderr,
            "exit_code": code,
            "exception": exception.as_ref().map(|(kind, message, traceback)| serde_json::json!({
                "type": kind, "message": message, "traceback": traceback,
            })),
            "duration_ms": o.duration.as_secs_f64() * 1000.0,
            "runtime": info.runtime,
            "gvisor": info.is_gvisor,
            "kernel": info.kernel_release,
            "timed_out": matches!(o.status, ExecStatus::TimedOut { .. }),
            "killed": matches!(o.status, ExecStatus::TimedOut { killed: true }),
            "oom": o.status == ExecStatus::OutOfMemory,
            "stdout_truncated": o.stdout_truncated,
            "stderr_truncated": o.stderr_truncated,
            "findings": out_findings + err_findings,
        });
        println!("{v}");
        return code;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(stdout.as_bytes());
    let _ = out.flush();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(stderr.as_bytes());
    if let Some((_, _, traceback)) = &exception {
        let _ = err.write_all(traceback.as_bytes());
    }
    match o.status {
        ExecStatus::TimedOut { killed } => {
            let _ = writeln!(
                err,
                "rlm exec: timed out{}",
                if killed {
                    "; the sandbox was killed"
                } else {
                    ""
                }
            );
        }
        ExecStatus::OutOfMemory => {
            let _ = writeln!(
                err,
                "rlm exec: the sandbox ran out of memory and was killed"
            );
        }
        ExecStatus::Died { exit_code } => {
            let _ = writeln!(
                err,
                "rlm exec: the sandbox process died (exit status {exit_code:?})"
            );
        }
        _ => {}
    }
    code
}

/// Filters one output; a blocked output is replaced by a notice.
fn filtered(filter: &EgressFilter, text: &str, what: &str) -> (String, usize) {
    if text.is_empty() {
        return (String::new(), 0);
    }
    match filter.apply(text) {
        Ok(f) => (f.output, f.findings.len()),
        Err(b) => (
            format!("[rlm: {what} blocked by the egress filter: {b}]\n"),
            b.findings.len(),
        ),
    }
}

fn read_code(file: &str) -> Result<String, String> {
    let mut code = String::new();
    if file == "-" {
        std::io::stdin()
            .read_to_string(&mut code)
            .map_err(|e| format!("cannot read code from stdin: {e}"))?;
    } else {
        code = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_file_is_usage_error() {
        assert!(read_code("/nonexistent/rlm-exec-test.py").is_err());
    }

    #[test]
    fn runtime_errors_map_to_contract() {
        assert_eq!(runtime_exit(&RuntimeError::Config("x".into())), USAGE);
        assert_eq!(
            runtime_exit(&RuntimeError::RuntimeRefused {
                reason: "r".into(),
                fix: "f".into()
            }),
            UNAVAILABLE
        );
    }
}

//! The execution port: what the loop needs from a sandboxed Python REPL.
//!
//! The loop talks to [`Repl`] and [`ReplFactory`] only. The production
//! implementation is [`crate::sandbox::RuntimeRepls`] over rlm-runtime's
//! Docker sessions; tests and benchmarks that measure the orchestrator's
//! own overhead supply scripted ones.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

/// The helpers sandbox code may call; each is a host call answered by the
/// session's [`HostHandler`].
pub const HOST_FUNCTIONS: [&str; 5] = [
    "llm_query",
    "llm_query_batched",
    "rlm_query",
    "FINAL",
    "FINAL_VAR",
];

/// Answers host calls from sandbox code. `payload` is what the sandbox
/// sent — `{"args": [...], "kwargs": {...}}`, plus `"value"` for
/// `FINAL_VAR` — and is untrusted. An `Err` is raised in the sandbox as
/// `HostCallError(message)`.
pub trait HostHandler: Send + Sync {
    /// Handles one call.
    fn call<'a>(&'a self, name: &'a str, payload: Value) -> BoxFuture<'a, Result<Value, String>>;
}

/// What one code cell produced, as the sandbox reported it (unfiltered).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exception (`Type: message` and traceback), if the cell raised.
    pub error: Option<String>,
    /// Whether the cell hit the execution timeout.
    pub timed_out: bool,
    /// How long it ran.
    pub duration: Duration,
}

/// Why the REPL could not run code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReplError {
    /// No sandbox could be started (engine unreachable, image missing).
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
    /// The session failed while running (container died, protocol error).
    #[error("sandbox failed: {0}")]
    Failed(String),
}

/// What a new REPL session needs.
pub struct ReplSpec {
    /// The session's path (`root`, `root.0` …), for labels and logs.
    pub session: String,
    /// The context file, mounted read-only as `context`.
    pub context_path: Option<PathBuf>,
    /// Answers the helpers' host calls.
    pub host: Arc<dyn HostHandler>,
}

impl fmt::Debug for ReplSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplSpec")
            .field("session", &self.session)
            .field("context_path", &self.context_path)
            .finish_non_exhaustive()
    }
}

/// One persistent REPL.
pub trait Repl: Send {
    /// Runs a cell; variables persist to the next.
    fn exec<'a>(&'a mut self, code: &'a str) -> BoxFuture<'a, Result<CellOutput, ReplError>>;
    /// Ends the session and frees its sandbox.
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Starts REPL sessions.
pub trait ReplFactory: Send + Sync + fmt::Debug {
    /// Starts one.
    fn start(&self, spec: ReplSpec) -> BoxFuture<'_, Result<Box<dyn Repl>, ReplError>>;
}

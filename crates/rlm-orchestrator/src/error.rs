//! Why a run stopped without an answer, and the exit code of each reason.

use rlm_budget::BudgetError;

/// Exit codes of `rlm run` (also documented in docs/layers/orchestrator.md).
pub mod exit {
    /// Answered.
    pub const OK: i32 = 0;
    /// An internal error (a bug).
    pub const INTERNAL: i32 = 1;
    /// Usage or configuration error (as every rlm command).
    pub const USAGE: i32 = 2;
    /// No sandbox could be started (as `rlm exec`).
    pub const SANDBOX: i32 = 3;
    /// The money, token or LLM-call limit stopped the run.
    pub const BUDGET: i32 = 4;
    /// The iteration limit stopped the run.
    pub const ITERATIONS: i32 = 5;
    /// The recursion depth limit stopped the run.
    pub const DEPTH: i32 = 6;
    /// The wall-clock limit stopped the run.
    pub const TIME: i32 = 7;
    /// The model provider failed (after retries, or the breaker is open).
    pub const PROVIDER: i32 = 8;
    /// The egress filter blocked the final answer (block mode).
    pub const ANSWER_BLOCKED: i32 = 9;
}

/// Why a run produced no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    /// The configuration or input cannot be used.
    #[error("{0}")]
    Config(String),
    /// No sandbox.
    #[error("{0}; run `rlm doctor` (or `cargo xtask setup`) to check Docker and gVisor")]
    SandboxUnavailable(String),
    /// Money, tokens or calls ran out.
    #[error("stopped by the budget: {0}")]
    Budget(String),
    /// The root session ran all its iterations without `FINAL`.
    #[error("no answer after {limit} iterations; raise --max-iterations (RLM_MAX_ITERATIONS)")]
    Iterations {
        /// The limit.
        limit: u32,
    },
    /// Recursion went too deep.
    #[error("{0}")]
    Depth(String),
    /// The wall-clock limit passed.
    #[error("{0}")]
    Deadline(String),
    /// The provider failed.
    #[error("model provider failed: {0}")]
    Provider(String),
    /// The answer was blocked by the egress filter.
    #[error("the final answer was blocked by the egress filter: {0}")]
    AnswerBlocked(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Config(_) => exit::USAGE,
            RunError::SandboxUnavailable(_) => exit::SANDBOX,
            RunError::Budget(_) => exit::BUDGET,
            RunError::Iterations { .. } => exit::ITERATIONS,
            RunError::Depth(_) => exit::DEPTH,
            RunError::Deadline(_) => exit::TIME,
            RunError::Provider(_) => exit::PROVIDER,
            RunError::AnswerBlocked(_) => exit::ANSWER_BLOCKED,
            RunError::Internal(_) => exit::INTERNAL,
        }
    }

    /// A short machine-readable kind (`budget`, `iterations` …) for
    /// `--json` and records.
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::Config(_) => "config",
            RunError::SandboxUnavailable(_) => "sandbox_unavailable",
            RunError::Budget(_) => "budget",
            RunError::Iterations { .. } => "iterations",
            RunError::Depth(_) => "depth",
            RunError::Deadline(_) => "time",
            RunError::Provider(_) => "provider",
            RunError::AnswerBlocked(_) => "answer_blocked",
            RunError::Internal(_) => "internal",
        }
    }
}

impl From<BudgetError> for RunError {
    fn from(e: BudgetError) -> Self {
        match e {
            BudgetError::Iterations { limit, .. } => RunError::Iterations { limit },
            BudgetError::RecursionDepth { .. } => RunError::Depth(e.to_string()),
            BudgetError::Deadline { .. } => RunError::Deadline(e.to_string()),
            BudgetError::Pricing(_) => RunError::Config(e.to_string()),
            _ => RunError::Budget(e.to_string()),
        }
    }
}

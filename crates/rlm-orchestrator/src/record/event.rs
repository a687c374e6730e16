//! The events a run records.

use serde::Serialize;
use serde_json::Value;

use crate::provider::{CallKind, TokenUsage};

/// One thing that happened in a run. Serialised with an `event` tag
/// (`llm_call`, `code_cell` …) and, in the trajectory, a timestamp.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run began.
    RunStart {
        /// The user's question.
        query: String,
        /// Size of the context in bytes.
        context_bytes: u64,
        /// The root model.
        model: String,
        /// The sub-call model.
        sub_model: String,
        /// The provider's name.
        provider: String,
    },
    /// A session (root or child) began.
    SessionStart {
        /// Its path.
        session: String,
        /// Its depth.
        depth: u32,
        /// Size of its context in bytes.
        context_bytes: u64,
    },
    /// A model call: its reply and usage, or its error. The prompt is
    /// recorded by size and digest only (it can be large); the reply is
    /// what replay needs.
    LlmCall {
        /// The calling session's path.
        session: String,
        /// The call's index in that session.
        index: u64,
        /// Root turn or sub-call.
        kind: CallKind,
        /// The model asked.
        model: String,
        /// Bytes of prompt sent.
        prompt_bytes: u64,
        /// SHA-256 of the prompt sent.
        prompt_sha256: String,
        /// The reply, when the call succeeded.
        #[serde(skip_serializing_if = "Option::is_none")]
        reply: Option<String>,
        /// Tokens used.
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<TokenUsage>,
        /// What it cost, in USD.
        cost_usd: f64,
        /// Attempts made (retries included).
        attempts: u32,
        /// Wall time in milliseconds, retries included.
        duration_ms: u64,
        /// The error, when the call failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A code cell ran.
    CodeCell {
        /// The session's path.
        session: String,
        /// The loop iteration (from 1).
        iteration: u32,
        /// The code.
        code: String,
        /// Standard output as the model saw it (filtered, capped).
        stdout: String,
        /// Standard error as the model saw it (filtered, capped).
        stderr: String,
        /// The Python exception or runtime error, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Wall time in milliseconds.
        duration_ms: u64,
    },
    /// The egress filter found something on a channel.
    Egress {
        /// The session's path.
        session: String,
        /// The channel (`stdout`, `stderr`, `sub_prompt`, `answer`).
        channel: String,
        /// What was found (kinds and counts, never the secret).
        findings: Value,
        /// Whether the output was blocked rather than redacted.
        blocked: bool,
    },
    /// Sandbox code called a host helper.
    HostCall {
        /// The session's path.
        session: String,
        /// The helper (`llm_query`, `rlm_query`, `FINAL` …).
        name: String,
        /// A short description of the arguments.
        detail: String,
    },
    /// Something failed.
    Error {
        /// The session's path.
        session: String,
        /// The message.
        message: String,
    },
    /// A session answered.
    Final {
        /// The session's path.
        session: String,
        /// The answer as released (filtered).
        answer: String,
        /// Iterations used.
        iterations: u32,
    },
    /// The run ended.
    RunEnd {
        /// `answered` or the reason it stopped.
        outcome: String,
        /// Total cost in USD.
        cost_usd: f64,
        /// Total input tokens.
        input_tokens: u64,
        /// Total output tokens.
        output_tokens: u64,
        /// Total LLM calls.
        llm_calls: u64,
    },
}

impl Event {
    /// The tag, for the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunStart { .. } => "run_start",
            Event::SessionStart { .. } => "session_start",
            Event::LlmCall { .. } => "llm_call",
            Event::CodeCell { .. } => "code_cell",
            Event::Egress { .. } => "egress",
            Event::HostCall { .. } => "host_call",
            Event::Error { .. } => "error",
            Event::Final { .. } => "final",
            Event::RunEnd { .. } => "run_end",
        }
    }
}

//! Model providers: one async trait, [`LlmProvider`], and its
//! implementations — OpenAI-compatible chat completions ([`OpenAiProvider`]),
//! Anthropic messages ([`AnthropicProvider`]) and the replay of a recorded
//! run ([`ReplayProvider`]).
//!
//! A provider only speaks its wire protocol: budget, breakers, retries,
//! egress and records are the orchestrator's, around it, so they apply to
//! every provider alike.

mod anthropic;
mod config;
mod error;
mod http;
mod openai;
mod rate_limit;
mod replay;

use std::fmt;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use anthropic::{AnthropicProvider, ANTHROPIC_BASE_URL};
pub use config::{build_provider, LlmChoice};
pub use error::ProviderError;
pub use openai::{OpenAiProvider, OPENAI_BASE_URL};
pub use rate_limit::RateLimiter;
pub use replay::ReplayProvider;

/// Who wrote a message of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The user (for the root model: the orchestrator's turn messages).
    User,
    /// The model's own earlier replies.
    Assistant,
}

impl Role {
    /// The wire name shared by both APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its author.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What a call is for: the root model's turn, or a helper's sub-call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// A turn of a session's own model (root or child session).
    Root,
    /// `llm_query` / `llm_query_batched`, or `rlm_query` degraded at the
    /// depth limit.
    Sub,
}

/// Where a call stands in the run: its session's path (`root`,
/// `root.1`, `root.1.2` …) and its order among that session's calls.
///
/// Indices are handed out when a call is issued, in program order (a batch
/// numbers its prompts before sending them concurrently), so a replayed run
/// asks for the same keys as the recorded one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallKey {
    /// The session's path.
    pub session: String,
    /// The call's order within its session, from 0.
    pub index: u64,
}

impl fmt::Display for CallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call #{} of session {}", self.index, self.session)
    }
}

/// One completion request.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The model name sent to the provider.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// The most output tokens the call may produce (what the budget
    /// reserved).
    pub max_tokens: u32,
    /// Root turn or sub-call.
    pub kind: CallKind,
    /// The call's place in the run (used by the replay provider).
    pub key: CallKey,
}

/// Tokens a call used, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// The part of `input_tokens` served from the provider's cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_input_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl From<TokenUsage> for rlm_budget::Usage {
    fn from(u: TokenUsage) -> Self {
        rlm_budget::Usage {
            input_tokens: u.input_tokens,
            cached_input_tokens: u.cached_input_tokens.min(u.input_tokens),
            output_tokens: u.output_tokens,
        }
    }
}

/// A model's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The reply text.
    pub text: String,
    /// Tokens used.
    pub usage: TokenUsage,
    /// The model that answered, as the provider named it.
    pub model: String,
}

/// A model provider.
///
/// Implementations must be cheap to share (`Arc<dyn LlmProvider>`) and safe
/// to call concurrently: `llm_query_batched` and concurrent sessions call
/// one provider from many tasks.
pub trait LlmProvider: Send + Sync + fmt::Debug {
    /// A short name for logs and records (`openai`, `anthropic`, `replay`).
    fn name(&self) -> &str;

    /// Sends one request and waits for the reply.
    fn complete<'a>(
        &'a self,
        request: &'a CompletionRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>>;
}

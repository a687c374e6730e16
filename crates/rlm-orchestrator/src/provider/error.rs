//! Provider errors, classified transient (worth a retry) or permanent.

use std::time::Duration;

/// Why a provider call failed. Messages never contain the API key: HTTP
/// bodies quoted here are scrubbed of it first.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The request took longer than `RLM_REQUEST_TIMEOUT`.
    #[error("{provider}: no reply within {:.1}s; raise RLM_REQUEST_TIMEOUT or check the server", .after.as_secs_f64())]
    Timeout {
        /// Provider name.
        provider: String,
        /// The timeout.
        after: Duration,
    },
    /// The server could not be reached.
    #[error("{provider}: cannot connect to {url}: {detail}; check RLM_API_BASE_URL and that the server runs")]
    Connect {
        /// Provider name.
        provider: String,
        /// The endpoint.
        url: String,
        /// The transport's reason.
        detail: String,
    },
    /// HTTP 429.
    #[error("{provider}: rate limited (HTTP 429){}; lower RLM_REQUESTS_PER_MINUTE or wait", retry_hint(.retry_after))]
    RateLimited {
        /// Provider name.
        provider: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// HTTP 5xx (or 408).
    #[error("{provider}: server error HTTP {status}: {body}")]
    Server {
        /// Provider name.
        provider: String,
        /// The status.
        status: u16,
        /// The start of the body, scrubbed.
        body: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// HTTP 401/403.
    #[error("{provider}: authentication refused (HTTP {status}); check RLM_API_KEY")]
    Auth {
        /// Provider name.
        provider: String,
        /// The status.
        status: u16,
    },
    /// Any other HTTP 4xx: the request itself is wrong (unknown model,
    /// context too long), so repeating it cannot help.
    #[error("{provider}: request refused HTTP {status}: {body}; check RLM_MODEL_NAME and RLM_MAX_TOKENS")]
    Request {
        /// Provider name.
        provider: String,
        /// The status.
        status: u16,
        /// The start of the body, scrubbed.
        body: String,
    },
    /// A 2xx reply that is not the API's shape.
    #[error("{provider}: unreadable reply: {detail}")]
    InvalidResponse {
        /// Provider name.
        provider: String,
        /// What was wrong.
        detail: String,
    },
    /// The replay recording has no reply for this call, or cannot be read.
    #[error("replay: {0}")]
    Replay(String),
    /// The provider cannot be built from the configuration.
    #[error("provider configuration: {0}")]
    Config(String),
}

fn retry_hint(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(", retry after {:.1}s", d.as_secs_f64()),
        None => String::new(),
    }
}

impl ProviderError {
    /// Whether repeating the same request may succeed: timeouts, connection
    /// failures, 429 and 5xx. Everything else is permanent.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Timeout { .. }
                | ProviderError::Connect { .. }
                | ProviderError::RateLimited { .. }
                | ProviderError::Server { .. }
        )
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable kind for records.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::Timeout { .. } => "timeout",
            ProviderError::Connect { .. } => "connect",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Server { .. } => "server",
            ProviderError::Auth { .. } => "auth",
            ProviderError::Request { .. } => "request",
            ProviderError::InvalidResponse { .. } => "invalid_response",
            ProviderError::Replay(_) => "replay",
            ProviderError::Config(_) => "config",
        }
    }
}

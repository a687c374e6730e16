//! The errors of the runtime, each with the fix in its message.

use std::time::Duration;

/// Everything that can go wrong starting, driving or cleaning up a sandbox.
///
/// Messages are meant for a person at a terminal: each says what happened
/// and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The Docker daemon did not answer.
    #[error("Docker is not reachable at {endpoint}: run `cargo xtask setup` (or start dockerd) ({detail})")]
    DockerUnreachable {
        /// Where we looked.
        endpoint: String,
        /// The client's error.
        detail: String,
    },
    /// A Docker API call failed.
    #[error("Docker {operation} failed: {detail}")]
    Docker {
        /// What we asked Docker to do.
        operation: &'static str,
        /// The client's error.
        detail: String,
    },
    /// The configured runtime cannot be used (fail-closed choice).
    #[error("sandbox runtime refused: {reason}; fix: {fix}")]
    RuntimeRefused {
        /// Why.
        reason: String,
        /// What to do.
        fix: String,
    },
    /// The session ran under a different kernel than the runtime promised.
    #[error("runtime verification failed: asked for {requested} but the sandbox reports kernel {kernel} (host kernel {host_kernel}); refusing to run code")]
    RuntimeMismatch {
        /// The runtime we asked Docker for.
        requested: String,
        /// What the sandbox reported.
        kernel: String,
        /// The host's `uname -r`.
        host_kernel: String,
    },
    /// The sandbox image is missing.
    #[error("sandbox image {image} not found: run `cargo xtask setup` to build rlm-sandbox:bookworm, or set RLM_DOCKER_IMAGE to an image with python3 (images are never pulled)")]
    ImageMissing {
        /// The image name.
        image: String,
    },
    /// The configuration does not allow this backend or option.
    #[error("configuration refused: {0}")]
    Config(String),
    /// The context file cannot be given to the sandbox.
    #[error("context file {path}: {problem}")]
    Context {
        /// The file.
        path: String,
        /// What is wrong, with the fix.
        problem: String,
    },
    /// The sandbox did not come up.
    #[error("sandbox failed to start: {detail}{}", diag_suffix(.diagnostics))]
    StartFailed {
        /// What happened.
        detail: String,
        /// Capped stderr of the sandbox, if any.
        diagnostics: String,
    },
    /// The sandbox sent something that is not a valid frame. The session is over.
    #[error("protocol violation from the sandbox ({detail}); the session was ended")]
    Protocol {
        /// What was wrong with it.
        detail: String,
    },
    /// The session is no longer usable.
    #[error("sandbox session {session} is dead ({reason}); start a new session")]
    SessionDead {
        /// The session id.
        session: String,
        /// Why it died.
        reason: String,
    },
    /// The agent did not answer in time during start or a control exchange.
    #[error("sandbox did not answer within {0:?}; the session was ended")]
    Unresponsive(Duration),
    /// This process stopped starting sandboxes: it is on its way out
    /// ([`crate::remove_own_sandboxes`] was called).
    #[error("no new sandbox: this process is shutting down and has removed its sandboxes")]
    ShuttingDown,
    /// An I/O error on the host side.
    #[error("I/O error talking to the sandbox: {0}")]
    Io(#[from] std::io::Error),
}

fn diag_suffix(d: &str) -> String {
    if d.trim().is_empty() {
        String::new()
    } else {
        format!("; sandbox said: {}", d.trim())
    }
}

impl RuntimeError {
    pub(crate) fn docker(operation: &'static str, e: bollard::errors::Error) -> Self {
        RuntimeError::Docker {
            operation,
            detail: e.to_string(),
        }
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Self {
        RuntimeError::Protocol {
            detail: detail.into(),
        }
    }

    /// Whether this error means the sandbox facility itself is unavailable
    /// or refused (as opposed to a fault of one session): the CLI maps
    /// these to exit status 3.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            RuntimeError::DockerUnreachable { .. }
                | RuntimeError::RuntimeRefused { .. }
                | RuntimeError::RuntimeMismatch { .. }
                | RuntimeError::ImageMissing { .. }
                | RuntimeError::StartFailed { .. }
                | RuntimeError::Docker { .. }
        )
    }
}

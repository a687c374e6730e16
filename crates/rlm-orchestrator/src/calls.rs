//! The one path every model call takes — root turns, sub-calls, child
//! sessions alike: reserve the worst case from the budget, pass the
//! breaker, call the provider, retry transient failures (honouring
//! `Retry-After`, never past the deadline), settle the real usage, record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rlm_budget::{Budget, BudgetError};
use rlm_circuit::{CircuitBreaker, Decision, ErrorClass, Outcome, Rejected, RetryPolicy};
use sha2::{Digest, Sha256};

use crate::provider::{
    CallKey, CallKind, Completion, CompletionRequest, LlmProvider, Message, ProviderError,
};
use crate::record::{Event, Recorder};

/// Why a guarded call produced no reply.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallFailure {
    /// The budget refused the reservation.
    #[error("{0}")]
    Budget(Arc<BudgetError>),
    /// The provider failed permanently or retries ran out.
    #[error("{error} (after {attempts} attempt(s))")]
    Provider {
        /// The last error.
        error: ProviderError,
        /// Attempts made.
        attempts: u32,
    },
    /// The breaker is open.
    #[error("{0}")]
    Circuit(Rejected),
}

/// Shared by every session of a run (and, through the orchestrator, by
/// every run: the breaker watches the provider, not a session).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) provider: Arc<dyn LlmProvider>,
    pub(crate) breaker: Arc<CircuitBreaker>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_tokens: u32,
}

/// An upper bound of the prompt's tokens for the reservation: a BPE token
/// is at least one byte, so bytes (plus the chat format's per-message
/// overhead) can never be exceeded — which is what lets the budget refuse
/// a call before it could overshoot. The settle step charges the real
/// count (typically a quarter of this) and frees the rest.
pub(crate) fn estimate_tokens(messages: &[Message]) -> u64 {
    messages
        .iter()
        .map(|m| m.content.len() as u64 + 16)
        .sum::<u64>()
        + 16
}

fn prompt_digest(messages: &[Message]) -> (u64, String) {
    let mut h = Sha256::new();
    let mut bytes = 0u64;
    for m in messages {
        h.update(m.role.as_str().as_bytes());
        h.update([0u8]);
        h.update(m.content.as_bytes());
        h.update([0u8]);
        bytes += m.content.len() as u64;
    }
    (bytes, hex::encode(h.finalize()))
}

impl Caller {
    /// Makes one guarded call.
    pub(crate) async fn call(
        &self,
        budget: &Budget,
        recorder: &Recorder,
        key: CallKey,
        kind: CallKind,
        model: &str,
        messages: Vec<Message>,
    ) -> Result<Completion, CallFailure> {
        let started = Instant::now();
        let (prompt_bytes, prompt_sha256) = prompt_digest(&messages);
        let record =
            |reply: Option<&Completion>, cost: f64, attempts: u32, error: Option<String>| {
                recorder.record(&Event::LlmCall {
                    session: key.session.clone(),
                    index: key.index,
                    kind,
                    model: model.to_string(),
                    prompt_bytes,
                    prompt_sha256: prompt_sha256.clone(),
                    reply: reply.map(|c| c.text.clone()),
                    usage: reply.map(|c| c.usage),
                    cost_usd: cost,
                    attempts,
                    duration_ms: started.elapsed().as_millis() as u64,
                    error,
                });
            };

        let reservation = match budget.reserve(
            model,
            estimate_tokens(&messages),
            u64::from(self.max_tokens),
        ) {
            Ok(r) => r,
            Err(e) => {
                record(None, 0.0, 0, Some(e.to_string()));
                return Err(CallFailure::Budget(Arc::new(e)));
            }
        };
        let request = CompletionRequest {
            model: model.to_string(),
            messages,
            max_tokens: self.max_tokens,
            kind,
            key: key.clone(),
        };
        let deadline = budget.remaining_time().map(|d| Instant::now() + d);
        let mut rng = fastrand::Rng::new();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let permit = match self.breaker.try_acquire() {
                Ok(p) => p,
                Err(rejected) => {
                    record(None, 0.0, attempt, Some(rejected.to_string()));
                    // The reservation drops here: released, nothing spent.
                    return Err(CallFailure::Circuit(rejected));
                }
            };
            let t = Instant::now();
            let result = self.provider.complete(&request).await;
            let elapsed = t.elapsed();
            match result {
                Ok(completion) => {
                    permit.record(Outcome::Success, elapsed);
                    let charge = reservation.settle(completion.usage.into());
                    let cost = charge.cost.as_usd_f64();
                    tracing::debug!(session = %key.session, index = key.index, ?kind, cost, "llm call settled");
                    record(Some(&completion), cost, attempt, None);
                    return Ok(completion);
                }
                Err(error) => {
                    let class = if error.is_transient() {
                        ErrorClass::Transient
                    } else {
                        ErrorClass::Permanent
                    };
                    permit.record(class.into(), elapsed);
                    let decision = self.retry.plan(
                        attempt,
                        class,
                        error.retry_after(),
                        Instant::now(),
                        deadline,
                        &mut rng,
                    );
                    match decision {
                        Decision::RetryAfter(delay) => {
                            tracing::warn!(session = %key.session, index = key.index, attempt, delay_ms = delay.as_millis() as u64, error = %error, "provider call failed; retrying");
                            tokio::time::sleep(delay.min(Duration::from_secs(300))).await;
                        }
                        Decision::GiveUp(reason) => {
                            tracing::warn!(session = %key.session, index = key.index, attempt, %reason, error = %error, "provider call failed; giving up");
                            record(None, 0.0, attempt, Some(error.to_string()));
                            return Err(CallFailure::Provider {
                                error,
                                attempts: attempt,
                            });
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_grows_with_text() {
        let small = estimate_tokens(&[Message::user("hi")]);
        let big = estimate_tokens(&[Message::user("x".repeat(4000))]);
        assert!(big >= small + 3998);
    }
}

//! Replays a recorded run's model replies, so a run can be repeated — the
//! code executing for real — without a provider.
//!
//! The recording is a trajectory log (see [`crate::record`]): every
//! `llm_call` line carries its session path, its index in that session and
//! the reply. A replayed call is answered by the line with the same key; a
//! run that diverges from the recording (asks for a call the recording
//! lacks) fails with a message naming the call.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::{CallKey, Completion, CompletionRequest, LlmProvider, ProviderError, TokenUsage};

/// A provider answering from a recording.
#[derive(Debug)]
pub struct ReplayProvider {
    path: PathBuf,
    replies: Mutex<HashMap<CallKey, Completion>>,
}

impl ReplayProvider {
    /// Reads a recording.
    pub fn from_file(path: &Path) -> Result<ReplayProvider, ProviderError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProviderError::Replay(format!("cannot read {}: {e}", path.display())))?;
        let mut p = ReplayProvider::from_jsonl(&text).map_err(|e| match e {
            ProviderError::Replay(m) => ProviderError::Replay(format!("{}: {m}", path.display())),
            other => other,
        })?;
        p.path = path.to_path_buf();
        Ok(p)
    }

    /// Reads a recording held in memory. Lines that are not `llm_call`
    /// events are skipped; a malformed line is an error naming it.
    pub fn from_jsonl(text: &str) -> Result<ReplayProvider, ProviderError> {
        let mut replies = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| ProviderError::Replay(format!("line {line_no} is not JSON: {e}")))?;
            if v.get("event").and_then(Value::as_str) != Some("llm_call") {
                continue;
            }
            // A failed call was recorded too; it has no reply to replay.
            let Some(reply) = v.get("reply").and_then(Value::as_str) else {
                continue;
            };
            let session = v.get("session").and_then(Value::as_str).ok_or_else(|| {
                ProviderError::Replay(format!("line {line_no}: llm_call without session"))
            })?;
            let index = v.get("index").and_then(Value::as_u64).ok_or_else(|| {
                ProviderError::Replay(format!("line {line_no}: llm_call without index"))
            })?;
            let usage: TokenUsage = v
                .get("usage")
                .cloned()
                .and_then(|u| serde_json::from_value(u).ok())
                .unwrap_or_default();
            let model = v
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("replay")
                .to_string();
            let key = CallKey {
                session: session.to_string(),
                index,
            };
            if replies
                .insert(
                    key.clone(),
                    Completion {
                        text: reply.to_string(),
                        usage,
                        model,
                    },
                )
                .is_some()
            {
                return Err(ProviderError::Replay(format!(
                    "line {line_no}: {key} recorded twice"
                )));
            }
        }
        if replies.is_empty() {
            return Err(ProviderError::Replay(
                "the recording holds no llm_call with a reply".into(),
            ));
        }
        Ok(ReplayProvider {
            path: PathBuf::new(),
            replies: Mutex::new(replies),
        })
    }

    /// Replies not yet asked for.
    pub fn remaining(&self) -> usize {
        self.replies.lock().map(|r| r.len()).unwrap_or(0)
    }
}

impl LlmProvider for ReplayProvider {
    fn name(&self) -> &str {
        "replay"
    }

    fn complete<'a>(
        &'a self,
        request: &'a CompletionRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let mut replies = self
                .replies
                .lock()
                .map_err(|_| ProviderError::Replay("recording state poisoned".into()))?;
            // Each reply is served once: a second ask for one key means the
            // run is not the recorded one.
            replies.remove(&request.key).ok_or_else(|| {
                ProviderError::Replay(format!(
                    "{}no reply recorded for {}: the run diverged from the recording",
                    if self.path.as_os_str().is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", self.path.display())
                    },
                    request.key
                ))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CallKind, Message};

    fn req(session: &str, index: u64) -> CompletionRequest {
        CompletionRequest {
            model: "m".into(),
            messages: vec![Message::user("x")],
            max_tokens: 5,
            kind: CallKind::Root,
            key: CallKey {
                session: session.into(),
                index,
            },
        }
    }

    #[tokio::test]
    async fn serves_by_key_once() {
        let text = r#"{"event":"run_start"}
{"event":"llm_call","session":"root","index":0,"reply":"a","usage":{"input_tokens":3,"output_tokens":1},"model":"gpt-4o-mini"}
{"event":"llm_call","session":"root.0","index":0,"reply":"b"}
{"event":"llm_call","session":"root","index":1,"error":"timeout"}
"#;
        let p = ReplayProvider::from_jsonl(text).unwrap();
        assert_eq!(p.complete(&req("root.0", 0)).await.unwrap().text, "b");
        let a = p.complete(&req("root", 0)).await.unwrap();
        assert_eq!(
            (a.text.as_str(), a.usage.input_tokens, a.model.as_str()),
            ("a", 3, "gpt-4o-mini")
        );
        let e = p.complete(&req("root", 0)).await.unwrap_err();
        assert!(e.to_string().contains("call #0 of session root"), "{e}");
        assert!(!e.is_transient());
    }

    #[test]
    fn malformed_recordings_are_named() {
        let e = ReplayProvider::from_jsonl("{\"event\":\"llm_call\"\n").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = ReplayProvider::from_jsonl("{\"event\":\"llm_call\",\"reply\":\"x\"}").unwrap_err();
        assert!(e.to_string().contains("without session"), "{e}");
        assert!(ReplayProvider::from_jsonl("").is_err());
    }
}

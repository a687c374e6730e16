//! The helpers sandbox code calls — `llm_query`, `llm_query_batched`,
//! `rlm_query`, `FINAL`, `FINAL_VAR` — served as host calls.
//!
//! Sandbox arguments are untrusted: every shape is checked, and a bad one
//! becomes a `HostCallError` in the sandbox, never a panic here.
//!
//! Every sub-call prompt passes the secrets-only egress filter (prompts
//! legitimately carry context chunks, so no echo limit applies, but the
//! context bytes they carry are charged to the disclosure budget).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use rlm_budget::{BudgetError, ChildLimits};
use serde_json::Value;

use crate::calls::CallFailure;
use crate::error::RunError;
use crate::prompt::ContextShape;
use crate::provider::{CallKind, Message};
use crate::record::Event;
use crate::repl::HostHandler;
use crate::session::{run_session, SessionSeed, SessionState};

/// The host side of one session's helpers.
pub(crate) struct Helpers {
    state: Arc<SessionState>,
}

/// The first positional argument, or the named one.
fn arg<'v>(payload: &'v Value, pos: usize, name: &str) -> Option<&'v Value> {
    payload
        .get("args")
        .and_then(Value::as_array)
        .and_then(|a| a.get(pos))
        .or_else(|| payload.get("kwargs").and_then(|k| k.get(name)))
        .filter(|v| !v.is_null())
}

fn text_arg(payload: &Value, pos: usize, name: &str, func: &str) -> Result<String, String> {
    match arg(payload, pos, name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{func}: `{name}` must be a str")),
        None => Err(format!("{func}: missing `{name}`")),
    }
}

/// A value's text form for an answer: strings as they are, others as JSON.
fn answer_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn preview(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    format!(
        "{} bytes: {:?}{}",
        s.len(),
        cut,
        if s.chars().count() > 80 { "…" } else { "" }
    )
}

impl Helpers {
    pub(crate) fn new(state: Arc<SessionState>) -> Helpers {
        Helpers { state }
    }

    fn record(&self, name: &str, detail: String) {
        self.state.run.recorder.record(&Event::HostCall {
            session: self.state.path.clone(),
            name: name.to_string(),
            detail,
        });
    }

    /// Budget and deadline refusals end the session: make them sticky so a
    /// model that catches the error and loops gets nowhere.
    fn note_failure(&self, f: &CallFailure) {
        if let CallFailure::Budget(e) = f {
            let run_error = match e.as_ref() {
                BudgetError::Iterations { limit, .. } => RunError::Iterations { limit: *limit },
                BudgetError::Deadline { .. } => RunError::Deadline(e.to_string()),
                BudgetError::RecursionDepth { .. } => RunError::Depth(e.to_string()),
                BudgetError::Pricing(_) => RunError::Config(e.to_string()),
                _ => RunError::Budget(e.to_string()),
            };
            self.state.set_stop(run_error);
        }
    }

    /// One sub-call with call index `index`: filter the prompt, charge
    /// the disclosure budget, call the sub-model.
    async fn sub_query(&self, prompt: String, index: u64) -> Result<String, String> {
        let st = &self.state;
        if let Some(stop) = st.stopped() {
            return Err(format!("refused: {stop}"));
        }
        let shared = &st.run.shared;
        // Secrets never reach a provider, even inside a context chunk.
        let filtered = match shared.secrets_filter.apply_secrets(&prompt) {
            Ok(f) => {
                if !f.findings.is_empty() {
                    st.record_findings("sub_prompt", &f.findings, false);
                }
                f.output
            }
            Err(blocked) => {
                st.record_findings("sub_prompt", &blocked.findings, true);
                return Err(format!("sub-call prompt {blocked}"));
            }
        };
        // The context this prompt carries counts against the session's
        // disclosure budget.
        let context_bytes: u64 = if st.context_index.is_empty() {
            0
        } else {
            st.filter
                .scan(&filtered)
                .iter()
                .filter(|f| f.detector == "context-echo")
                .map(|f| f.len() as u64)
                .sum()
        };
        if context_bytes > 0 && !st.disclosure.try_spend(context_bytes) {
            st.record_findings("sub_prompt", &[], true);
            return Err(format!(
                "refused: this prompt carries {context_bytes} bytes of the context but the disclosure budget has {} left (RLM_DISCLOSURE_BUDGET)",
                st.disclosure.remaining()
            ));
        }
        let key = st.key(index);
        let result = shared
            .caller
            .call(
                &st.budget,
                &st.run.recorder,
                key,
                CallKind::Sub,
                &shared.settings.sub_model,
                vec![Message::user(filtered)],
            )
            .await;
        match result {
            Ok(c) => Ok(c.text),
            Err(f) => {
                self.note_failure(&f);
                Err(f.to_string())
            }
        }
    }

    async fn llm_query(&self, payload: Value) -> Result<Value, String> {
        let prompt = text_arg(&payload, 0, "prompt", "llm_query")?;
        self.record("llm_query", preview(&prompt));
        let index = self.state.next_keys(1);
        self.sub_query(prompt, index).await.map(Value::String)
    }

    async fn llm_query_batched(&self, payload: Value) -> Result<Value, String> {
        let prompts: Vec<String> = match arg(&payload, 0, "prompts") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(format!("llm_query_batched: prompts[{i}] must be a str")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("llm_query_batched: `prompts` must be a list of str".into()),
            None => return Err("llm_query_batched: missing `prompts`".into()),
        };
        self.record("llm_query_batched", format!("{} prompts", prompts.len()));
        let n = prompts.len() as u64;
        // Indices are taken for the whole batch at once, in list order,
        // before anything is sent: replay finds the same keys.
        let base = self.state.next_keys(n);
        let parallel = self.state.run.shared.settings.max_parallel_subcalls.max(1);
        let replies: Vec<Value> = stream::iter(prompts.into_iter().enumerate())
            .map(|(i, p)| async move {
                match self.sub_query(p, base + i as u64).await {
                    Ok(text) => Value::String(text),
                    // One failed prompt does not fail the batch.
                    Err(e) => Value::String(format!("Error: {e}")),
                }
            })
            .buffered(parallel)
            .collect()
            .await;
        Ok(Value::Array(replies))
    }

    async fn rlm_query(&self, payload: Value) -> Result<Value, String> {
        let st = &self.state;
        let prompt = text_arg(&payload, 0, "prompt", "rlm_query")?;
        let context = match arg(&payload, 1, "context") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("rlm_query: `context` must be a str or None".into()),
        };
        self.record(
            "rlm_query",
            format!(
                "prompt {}; context {}",
                preview(&prompt),
                context
                    .as_ref()
                    .map_or("inherited".into(), |c| format!("{} bytes", c.len()))
            ),
        );
        if let Some(stop) = st.stopped() {
            return Err(format!("refused: {stop}"));
        }
        let shared = &st.run.shared;
        // At the depth limit a child cannot start: answer with one plain
        // sub-call instead, so the model's code keeps working.
        if st.depth >= shared.settings.max_depth {
            tracing::info!(session = %st.path, depth = st.depth, "rlm_query at the depth limit: degraded to llm_query");
            let full = match &context {
                Some(c) => format!("{prompt}\n\n{c}"),
                None => prompt,
            };
            let index = st.next_keys(1);
            return self.sub_query(full, index).await.map(Value::String);
        }
        let budget = match st.budget.child(ChildLimits::inherit()) {
            Ok(b) => b,
            Err(e) => {
                let f = CallFailure::Budget(Arc::new(e));
                self.note_failure(&f);
                return Err(f.to_string());
            }
        };
        // The child's question goes to a provider: secrets never do.
        let query = match shared.secrets_filter.apply_secrets(&prompt) {
            Ok(f) => {
                if !f.findings.is_empty() {
                    st.record_findings("child_query", &f.findings, false);
                }
                f.output
            }
            Err(b) => {
                st.record_findings("child_query", &b.findings, true);
                return Err(format!("rlm_query prompt {b}"));
            }
        };
        let path = format!("{}.{}", st.path, st.next_child());
        let seed = match context {
            None => SessionSeed {
                path,
                depth: st.depth + 1,
                budget,
                context_index: Arc::clone(&st.context_index),
                context_path: st.context_path.clone(),
                context_file: None,
                disclosure: Arc::clone(&st.disclosure),
                shape: st.shape.clone(),
            },
            Some(text) => {
                let file = crate::orchestrator::write_context_file(text.as_bytes())
                    .map_err(|e| format!("rlm_query: cannot stage the child's context: {e}"))?;
                let index = shared.context_index(text.as_bytes());
                SessionSeed {
                    path,
                    depth: st.depth + 1,
                    budget,
                    context_index: index,
                    context_path: Some(file.path().to_path_buf()),
                    context_file: Some(file),
                    // The child's context came from this session's
                    // sandbox: its releases count against this budget too.
                    disclosure: Arc::clone(&st.disclosure),
                    shape: ContextShape::of(text.as_bytes()),
                }
            }
        };
        let child = SessionState::new(Arc::clone(&st.run), seed).map_err(|e| e.to_string())?;
        match run_session(child, query).await {
            Ok(done) => Ok(Value::String(done.answer)),
            Err(e) => {
                if matches!(e, RunError::Budget(_) | RunError::Deadline(_)) {
                    st.set_stop(e.clone());
                }
                Err(format!("child session failed: {e}"))
            }
        }
    }

    fn final_answer(&self, name: &str, payload: &Value) -> Result<Value, String> {
        let answer =
            if name == "FINAL_VAR" {
                // The agent sends the variable's value along; its absence means
                // the name was not a str.
                match payload.get("value") {
                    Some(v) => answer_text(v),
                    None => return Err(
                        "FINAL_VAR: pass the variable's name as a str, e.g. FINAL_VAR(\"result\")"
                            .into(),
                    ),
                }
            } else {
                match arg(payload, 0, "answer") {
                    Some(v) => answer_text(v),
                    None => return Err("FINAL: missing the answer".into()),
                }
            };
        self.record(name, preview(&answer));
        self.state.set_final(answer);
        // None: a trailing `FINAL(...)` expression prints nothing.
        Ok(Value::Null)
    }
}

impl HostHandler for Helpers {
    fn call<'a>(&'a self, name: &'a str, payload: Value) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            match name {
                "llm_query" => self.llm_query(payload).await,
                "llm_query_batched" => self.llm_query_batched(payload).await,
                "rlm_query" => self.rlm_query(payload).await,
                "FINAL" | "FINAL_VAR" => self.final_answer(name, &payload),
                other => Err(format!("no host function named {other}")),
            }
        })
    }
}

//! One RLM session (the root, or a child started by `rlm_query`): its
//! state, and the loop — ask the model, run the code it wrote, show it the
//! filtered output, until a `FINAL` runs or a limit stops it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use rlm_budget::Budget;
use rlm_egress::{ContextIndex, DisclosureBudget, EgressFilter};
use serde_json::json;

use crate::calls::CallFailure;
use crate::error::RunError;
use crate::helpers::Helpers;
use crate::orchestrator::{Progress, RunCtx};
use crate::parse::{parse_reply, BareFinal};
use crate::prompt::{cell_report, system_prompt, turn_message, ContextShape};
use crate::provider::{CallKey, CallKind, Message};
use crate::record::Event;
use crate::repl::{Repl, ReplError, ReplSpec};

/// A session's own state: nothing here is shared with another session
/// except through the run's budget ledger.
pub(crate) struct SessionState {
    pub(crate) run: Arc<RunCtx>,
    pub(crate) path: String,
    pub(crate) depth: u32,
    pub(crate) budget: Budget,
    /// The full filter (secrets, context echo, binary, cap) for what the
    /// model sees and for the answer.
    pub(crate) filter: EgressFilter,
    pub(crate) disclosure: Arc<DisclosureBudget>,
    pub(crate) context_index: Arc<ContextIndex>,
    pub(crate) context_path: Option<PathBuf>,
    pub(crate) shape: ContextShape,
    /// Keeps a child's context file alive as long as its session.
    pub(crate) _context_file: Option<crate::orchestrator::StagedContext>,
    calls: AtomicU64,
    children: AtomicU64,
    final_answer: Mutex<Option<String>>,
    stop: Mutex<Option<RunError>>,
}

/// A finished session.
#[derive(Debug, Clone)]
pub(crate) struct SessionDone {
    pub(crate) answer: String,
    pub(crate) iterations: u32,
}

/// What a new session is given.
pub(crate) struct SessionSeed {
    pub(crate) path: String,
    pub(crate) depth: u32,
    pub(crate) budget: Budget,
    pub(crate) context_index: Arc<ContextIndex>,
    pub(crate) context_path: Option<PathBuf>,
    pub(crate) context_file: Option<crate::orchestrator::StagedContext>,
    pub(crate) disclosure: Arc<DisclosureBudget>,
    pub(crate) shape: ContextShape,
}

impl SessionState {
    pub(crate) fn new(run: Arc<RunCtx>, seed: SessionSeed) -> Result<Arc<SessionState>, RunError> {
        let filter = run
            .shared
            .filter_builder()
            .context_index(Arc::clone(&seed.context_index))
            .build()
            .map_err(|e| RunError::Config(format!("egress filter: {e}")))?;
        Ok(Arc::new(SessionState {
            run,
            path: seed.path,
            depth: seed.depth,
            budget: seed.budget,
            filter,
            disclosure: seed.disclosure,
            context_index: seed.context_index,
            context_path: seed.context_path,
            shape: seed.shape,
            _context_file: seed.context_file,
            calls: AtomicU64::new(0),
            children: AtomicU64::new(0),
            final_answer: Mutex::new(None),
            stop: Mutex::new(None),
        }))
    }

    /// The next call's key. Handed out in program order, before any await,
    /// so a replay asks for the same keys.
    pub(crate) fn next_keys(&self, n: u64) -> u64 {
        self.calls.fetch_add(n, Ordering::SeqCst)
    }

    pub(crate) fn key(&self, index: u64) -> CallKey {
        CallKey {
            session: self.path.clone(),
            index,
        }
    }

    pub(crate) fn next_child(&self) -> u64 {
        self.children.fetch_add(1, Ordering::SeqCst)
    }

    pub(crate) fn set_final(&self, answer: String) {
        let mut f = self.final_answer.lock().unwrap_or_else(|p| p.into_inner());
        // The first FINAL wins: a later one in the same cell changes nothing.
        if f.is_none() {
            *f = Some(answer);
        }
    }

    fn take_final(&self) -> Option<String> {
        self.final_answer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn has_final(&self) -> bool {
        self.final_answer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Makes a fatal condition (budget spent, deadline passed) sticky: every
    /// later helper call fails at once and the loop stops after the cell.
    pub(crate) fn set_stop(&self, e: RunError) {
        let mut s = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            *s = Some(e);
        }
    }

    pub(crate) fn stopped(&self) -> Option<RunError> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Filters one output channel shown to the model, charging the
    /// disclosure budget and recording findings.
    pub(crate) fn filter_output(&self, channel: &str, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        match self.filter.apply_with_budget(text, &self.disclosure) {
            Ok(f) => {
                if !f.findings.is_empty() {
                    self.record_findings(channel, &f.findings, false);
                }
                f.output
            }
            Err(blocked) => {
                self.record_findings(channel, &blocked.findings, true);
                // The message names detectors and spans, never content.
                format!("[{channel} withheld: {blocked}]")
            }
        }
    }

    pub(crate) fn record_findings(
        &self,
        channel: &str,
        findings: &[rlm_egress::Finding],
        blocked: bool,
    ) {
        let list: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| json!({"detector": f.detector, "rule": f.rule, "confidence": f.confidence.as_str(), "len": f.len()}))
            .collect();
        tracing::info!(session = %self.path, channel, findings = findings.len(), blocked, "egress findings");
        self.run.recorder.record(&Event::Egress {
            session: self.path.clone(),
            channel: channel.to_string(),
            findings: serde_json::Value::Array(list),
            blocked,
        });
    }

    fn progress(&self, iteration: u32) {
        if let Some(p) = &self.run.progress {
            let r = self.budget.report();
            p(&Progress {
                session: self.path.clone(),
                iteration,
                max_iterations: self.run.shared.settings.max_iterations,
                cost_usd: r.spent_usd(),
                llm_calls: r.llm_calls,
            });
        }
    }
}

fn call_failure_to_run_error(f: CallFailure) -> RunError {
    match f {
        CallFailure::Budget(e) => match Arc::try_unwrap(e) {
            Ok(e) => RunError::from(e),
            Err(e) => RunError::Budget(e.to_string()),
        },
        CallFailure::Provider { .. } | CallFailure::Circuit(_) => RunError::Provider(f.to_string()),
    }
}

/// Runs a session to its answer: starts its sandbox, loops, closes it.
pub(crate) fn run_session(
    state: Arc<SessionState>,
    query: String,
) -> BoxFuture<'static, Result<SessionDone, RunError>> {
    let span = tracing::info_span!("session", path = %state.path, depth = state.depth);
    Box::pin(tracing::Instrument::instrument(
        async move {
            state.run.recorder.record(&Event::SessionStart {
                session: state.path.clone(),
                depth: state.depth,
                context_bytes: state.shape.bytes,
            });
            let spec = ReplSpec {
                session: state.path.clone(),
                context_path: state.context_path.clone(),
                host: Arc::new(Helpers::new(Arc::clone(&state))),
            };
            let mut repl = state
                .run
                .shared
                .repls
                .start(spec)
                .await
                .map_err(|e| match e {
                    ReplError::Unavailable(m) | ReplError::Failed(m) => {
                        RunError::SandboxUnavailable(m)
                    }
                })?;
            let result = drive(&state, repl.as_mut(), &query).await;
            repl.close().await;
            match &result {
                Ok(done) => state.run.recorder.record(&Event::Final {
                    session: state.path.clone(),
                    answer: done.answer.clone(),
                    iterations: done.iterations,
                }),
                Err(e) => state.run.recorder.record(&Event::Error {
                    session: state.path.clone(),
                    message: e.to_string(),
                }),
            }
            result
        },
        span,
    ))
}

async fn drive(
    state: &SessionState,
    repl: &mut dyn Repl,
    query: &str,
) -> Result<SessionDone, RunError> {
    let settings = &state.run.shared.settings;
    let max = settings.max_iterations.max(1);
    let mut messages = vec![
        Message::system(system_prompt(
            &state.shape,
            state.depth,
            settings.max_depth,
            max,
        )),
        Message::user(turn_message(1, max, query, None)),
    ];
    let mut iteration: u32 = 0;
    loop {
        if iteration >= max {
            return Err(RunError::Iterations { limit: max });
        }
        state.budget.begin_iteration()?;
        iteration += 1;
        state.progress(iteration);
        tracing::info!(session = %state.path, iteration, max, "iteration");

        let key = state.key(state.next_keys(1));
        let reply = state
            .run
            .shared
            .caller
            .call(
                &state.budget,
                &state.run.recorder,
                key,
                CallKind::Root,
                &settings.model,
                messages.clone(),
            )
            .await
            .map_err(call_failure_to_run_error)?;
        let parsed = parse_reply(&reply.text);
        messages.push(Message::assistant(reply.text));

        let mut report = String::new();
        let mut cells: Vec<String> = parsed.code.clone();
        if cells.is_empty() {
            match &parsed.bare_final {
                Some(BareFinal::Answer(a)) => return finish(state, a, iteration),
                // Only the sandbox can read a variable: run the call there,
                // so it counts only if it really executes.
                Some(BareFinal::Var(name)) => cells.push(format!("FINAL_VAR({name:?})")),
                None if parsed.unclosed => report.push_str(
                    "Your ```repl block was not closed (the reply may have been cut off), so it was not run. \
                     Write shorter code and close the fence.\n",
                ),
                None => report.push_str(
                    "No code was run: your reply had no ```repl block. Write code in a ```repl block, \
                     or call FINAL(answer).\n",
                ),
            }
        }
        for (i, code) in cells.iter().enumerate() {
            let cell = i + 1;
            if let Some(approver) = &state.run.approver {
                if !approver.approve(&state.path, code).await {
                    report.push_str(&format!("[cell {cell}] not run: the user declined it.\n"));
                    state.run.recorder.record(&Event::HostCall {
                        session: state.path.clone(),
                        name: "approval".into(),
                        detail: format!("cell {cell} of iteration {iteration} declined"),
                    });
                    continue;
                }
            }
            let out = repl
                .exec(code)
                .await
                .map_err(|e| RunError::SandboxUnavailable(e.to_string()))?;
            let stdout = state.filter_output("stdout", &out.stdout);
            let stderr = state.filter_output("stderr", &out.stderr);
            let error = match (&out.error, out.timed_out) {
                (Some(e), _) => Some(state.filter_output("stderr", e)),
                (None, true) => Some("the cell timed out and was interrupted".to_string()),
                (None, false) => None,
            };
            state.run.recorder.record(&Event::CodeCell {
                session: state.path.clone(),
                iteration,
                code: code.clone(),
                stdout: stdout.clone(),
                stderr: stderr.clone(),
                error: error.clone(),
                duration_ms: out.duration.as_millis() as u64,
            });
            report.push_str(&cell_report(cell, &stdout, &stderr, error.as_deref()));
            if state.has_final() || state.stopped().is_some() {
                break;
            }
        }
        if let Some(stop) = state.stopped() {
            return Err(stop);
        }
        if let Some(answer) = state.take_final() {
            return finish(state, &answer, iteration);
        }
        if !parsed.code.is_empty() && matches!(parsed.bare_final, Some(BareFinal::Answer(_))) {
            report.push_str(
                "Note: a FINAL(...) line written next to code is not taken as the answer; \
                 call FINAL inside a ```repl block once you have seen the output.\n",
            );
        }
        messages.push(Message::user(turn_message(
            iteration + 1,
            max,
            query,
            Some(report.trim_end()),
        )));
    }
}

/// The answer leaves through the full filter, the session's context
/// protected.
fn finish(state: &SessionState, answer: &str, iterations: u32) -> Result<SessionDone, RunError> {
    match state.filter.apply(answer) {
        Ok(f) => {
            if !f.findings.is_empty() {
                state.record_findings("answer", &f.findings, false);
            }
            Ok(SessionDone {
                answer: f.output,
                iterations,
            })
        }
        Err(blocked) => {
            state.record_findings("answer", &blocked.findings, true);
            Err(RunError::AnswerBlocked(blocked.to_string()))
        }
    }
}

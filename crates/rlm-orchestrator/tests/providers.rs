//! Providers, retries, limits and records against a real HTTP server on
//! loopback; no Docker (runs that execute code use an inert REPL).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rlm_budget::Money;
use rlm_circuit::{Jitter, RetryPolicy};
use rlm_orchestrator::provider::{
    CallKey, CallKind, CompletionRequest, LlmProvider, Message, ProviderError,
};
use rlm_orchestrator::record::{verify_audit_log, AuditLog, AuditVerdict, Recorder, Trajectory};
use rlm_orchestrator::{exit, ContextInput, Orchestrator, RunError, RunRequest};
use support::*;

fn request(text: &str) -> CompletionRequest {
    CompletionRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![Message::system("sys"), Message::user(text)],
        max_tokens: 50,
        kind: CallKind::Root,
        key: CallKey {
            session: "root".into(),
            index: 0,
        },
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        multiplier: 2,
        jitter: Jitter::None,
    }
}

#[tokio::test]
async fn openai_request_shape_usage_and_auth() {
    let server = MockServer::start(Arc::new(|_, _| Reply::text_usage("hello", 42, 7))).await;
    let c = server.provider().complete(&request("hi")).await.unwrap();
    assert_eq!(c.text, "hello");
    assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (42, 7));
    let got = server.requests();
    assert_eq!(got[0].body["model"], "gpt-4o-mini");
    assert_eq!(got[0].body["max_tokens"], 50);
    assert_eq!(got[0].body["messages"][1]["content"], "hi");
    assert_eq!(
        got[0].authorization.as_deref(),
        Some("Bearer sk-test-key-0123456789")
    );
}

#[tokio::test]
async fn errors_are_classified_and_never_show_the_key() {
    let server = MockServer::start(Arc::new(|_, n| match n {
        0 => Reply::status(500),
        1 => Reply::status(429).header("retry-after", "3"),
        2 => Reply::status(401),
        3 => {
            let mut r = Reply::status(400);
            r.body =
                serde_json::json!({"error": "Incorrect API key provided: sk-test-key-0123456789"});
            r
        }
        _ => Reply::text("late").delay(Duration::from_secs(5)),
    }))
    .await;
    let p = server.provider();
    let e = p.complete(&request("x")).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    let e = p.complete(&request("x")).await.unwrap_err();
    assert!(e.is_transient());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    let e = p.complete(&request("x")).await.unwrap_err();
    assert!(!e.is_transient());
    assert!(e.to_string().contains("RLM_API_KEY"));
    let e = p.complete(&request("x")).await.unwrap_err();
    assert!(!e.is_transient());
    assert!(!e.to_string().contains("sk-test-key"), "{e}");
    assert!(!format!("{e:?}").contains("sk-test-key"));
    assert!(!format!("{p:?}").contains("sk-test-key"));
    // Timeout.
    let slow = rlm_orchestrator::provider::OpenAiProvider::new(
        Some(&server.base_url),
        rlm_config::Secret::new("k"),
        Duration::from_millis(200),
        0,
    )
    .unwrap();
    let e = slow.complete(&request("x")).await.unwrap_err();
    assert!(matches!(e, ProviderError::Timeout { .. }), "{e}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let p = rlm_orchestrator::provider::OpenAiProvider::new(
        Some("http://127.0.0.1:9/v1"),
        rlm_config::Secret::new(""),
        Duration::from_secs(2),
        0,
    )
    .unwrap();
    let e = p.complete(&request("x")).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
}

#[tokio::test]
async fn rate_limit_paces_requests() {
    let server = MockServer::start(Arc::new(|_, _| Reply::text("ok"))).await;
    // 120 rpm, burst 30: the 31st request waits ~0.5 s.
    let p = rlm_orchestrator::provider::OpenAiProvider::new(
        Some(&server.base_url),
        rlm_config::Secret::new(""),
        Duration::from_secs(5),
        120,
    )
    .unwrap();
    let t = Instant::now();
    for _ in 0..31 {
        p.complete(&request("x")).await.unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn provider_500s_and_429s_then_recovery() {
    let server = MockServer::start(Arc::new(|_, n| match n {
        0 | 1 => Reply::status(500),
        2 => Reply::status(429).header("retry-after", "0"),
        _ => Reply::text("All done.\nFINAL(forty-two)"),
    }))
    .await;
    let orch = Orchestrator::builder(&config(), server.provider(), Arc::new(InertRepls))
        .unwrap()
        .retry(fast_retry())
        .build()
        .unwrap();
    let report = orch
        .run(RunRequest::new("what?", ContextInput::Text("ctx".into())))
        .await;
    assert_eq!(report.outcome.as_deref().ok(), Some("forty-two"));
    assert_eq!(server.requests().len(), 4);
    assert_eq!(report.budget.llm_calls, 1);
}

#[tokio::test]
async fn permanent_provider_error_stops_with_its_exit_code() {
    let server = MockServer::start(Arc::new(|_, _| Reply::status(401))).await;
    let orch = Orchestrator::builder(&config(), server.provider(), Arc::new(InertRepls))
        .unwrap()
        .retry(fast_retry())
        .build()
        .unwrap();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert!(
        matches!(report.outcome, Err(RunError::Provider(_))),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.exit_code(), exit::PROVIDER);
    assert_eq!(
        server.requests().len(),
        1,
        "a permanent error is not retried"
    );
    assert_eq!(report.budget.spent, Money::ZERO);
}

#[tokio::test]
async fn runaway_model_is_stopped_by_the_budget_without_overshooting() {
    // Every reply is code and never FINAL, at the most output allowed;
    // input tokens are a realistic quarter of the prompt's bytes.
    let server = MockServer::start(Arc::new(|body, _| {
        Reply::text_usage(
            repl("print('again')"),
            body.to_string().len() as u64 / 4,
            1200,
        )
    }))
    .await;
    let mut cfg = config();
    cfg.budget.cost_limit_usd = rlm_config::Usd { micros: 10_000 }; // $0.01
    cfg.budget.max_iterations = 1000;
    cfg.provider.max_tokens = 1200;
    let orch = Orchestrator::builder(&cfg, server.provider(), Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let report = orch
        .run(RunRequest::new("loop forever", ContextInput::None))
        .await;
    assert!(
        matches!(report.outcome, Err(RunError::Budget(_))),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.exit_code(), exit::BUDGET);
    assert!(
        report.budget.spent <= Money::from_micros(10_000),
        "overshoot: {}",
        report.budget.spent
    );
    assert!(report.budget.llm_calls >= 3);
    assert_eq!(server.requests().len() as u64, report.budget.llm_calls);
}

#[tokio::test]
async fn iteration_limit_stops_the_run() {
    let server = MockServer::start(Arc::new(|_, _| {
        Reply::text("I am still thinking, no code yet.")
    }))
    .await;
    let mut cfg = config();
    cfg.budget.max_iterations = 3;
    let orch = Orchestrator::builder(&cfg, server.provider(), Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert!(
        matches!(report.outcome, Err(RunError::Iterations { limit: 3 })),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.exit_code(), exit::ITERATIONS);
    assert_eq!(report.iterations, 3);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    // The model was told it wrote no code, and which turn it is.
    let last = last_user(&reqs[2].body);
    assert!(last.contains("no ```repl block"), "{last}");
    assert!(last.contains("Turn 3 of 3"), "{last}");
}

#[tokio::test]
async fn prose_mentioning_final_is_not_an_answer() {
    let server = MockServer::start(Arc::new(|body, _| {
        if turn(body) == 0 {
            Reply::text("I will call FINAL(42) once I know more.")
        } else {
            Reply::text("FINAL(42)")
        }
    }))
    .await;
    let orch = Orchestrator::builder(&config(), server.provider(), Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert_eq!(report.outcome.as_deref().ok(), Some("42"));
    assert_eq!(report.iterations, 2);
}

#[tokio::test]
async fn records_a_run_that_replays_and_an_audit_log_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let traj = dir.path().join("run.jsonl");
    let audit = dir.path().join("audit.jsonl");
    let server = MockServer::start(Arc::new(|body, _| {
        if turn(body) == 0 {
            Reply::text(repl("print(1)"))
        } else {
            Reply::text("FINAL(recorded)")
        }
    }))
    .await;
    let orch = Orchestrator::builder(&config(), server.provider(), Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let mut req = RunRequest::new("q", ContextInput::None);
    req.recorder = Recorder::new(
        vec![Trajectory::create(&traj).unwrap()],
        Some(AuditLog::create(&audit).unwrap()),
    );
    let report = orch.run(req).await;
    assert_eq!(report.outcome.as_deref().ok(), Some("recorded"));
    assert!(
        matches!(verify_audit_log(&audit).unwrap(), AuditVerdict::Intact { entries } if entries > 4)
    );
    let text = std::fs::read_to_string(&traj).unwrap();
    assert!(!text.contains("sk-test-key"));
    for kind in ["run_start", "llm_call", "code_cell", "final", "run_end"] {
        assert!(text.contains(&format!("\"event\":\"{kind}\"")), "{kind}");
    }
    // Replay the recording: same answer, no server.
    let replay = Arc::new(rlm_orchestrator::provider::ReplayProvider::from_file(&traj).unwrap());
    let orch = Orchestrator::builder(&config(), replay, Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let again = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert_eq!(again.outcome.as_deref().ok(), Some("recorded"));
    assert_eq!(server.requests().len(), 2);
    // Tampering is caught at its line.
    let mut lines: Vec<String> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[2] = lines[2].replace("llm_call", "llm_calX");
    std::fs::write(&audit, lines.join("\n")).unwrap();
    assert!(matches!(
        verify_audit_log(&audit).unwrap(),
        AuditVerdict::Tampered { line: 3, .. }
    ));
}

#[tokio::test]
async fn wall_clock_limit_stops_a_slow_run() {
    let server = MockServer::start(Arc::new(|_, _| {
        Reply::text("FINAL(late)").delay(Duration::from_secs(3))
    }))
    .await;
    let mut cfg = config();
    cfg.budget.max_wall_time = rlm_config::Span(Duration::from_millis(500));
    let orch = Orchestrator::builder(&cfg, server.provider(), Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let t = Instant::now();
    let report = orch.run(RunRequest::new("q", ContextInput::None)).await;
    assert!(
        matches!(report.outcome, Err(RunError::Deadline(_))),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.exit_code(), exit::TIME);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn anthropic_messages_shape_and_usage() {
    let server = MockServer::start(Arc::new(|_, _| {
        let mut r = Reply::text("");
        r.body = serde_json::json!({
            "model": "claude-3-5-haiku-20241022",
            "content": [{"type": "text", "text": "FINAL(from claude)"}],
            "usage": {"input_tokens": 30, "output_tokens": 5}
        });
        r
    }))
    .await;
    let p = rlm_orchestrator::provider::AnthropicProvider::new(
        Some(server.base_url.trim_end_matches("/v1")),
        rlm_config::Secret::new("sk-ant-test"),
        Duration::from_secs(5),
        0,
    )
    .unwrap();
    let c = p.complete(&request("hi")).await.unwrap();
    assert_eq!(c.text, "FINAL(from claude)");
    assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (30, 5));
    let body = &server.requests()[0].body;
    assert_eq!(body["system"], "sys");
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["max_tokens"], 50);
}

struct Decline;

impl rlm_orchestrator::Approver for Decline {
    fn approve<'a>(&'a self, _: &'a str, _: &'a str) -> futures_util::future::BoxFuture<'a, bool> {
        Box::pin(async { false })
    }
}

#[tokio::test]
async fn declined_cells_do_not_run_and_the_model_is_told() {
    let server = MockServer::start(Arc::new(|body, _| {
        if turn(body) == 0 {
            Reply::text(repl("import os"))
        } else {
            Reply::text("FINAL(ok)")
        }
    }))
    .await;
    let orch = Orchestrator::builder(&config(), server.provider(), Arc::new(InertRepls))
        .unwrap()
        .build()
        .unwrap();
    let mut req = RunRequest::new("q", ContextInput::None);
    req.approver = Some(Arc::new(Decline));
    let report = orch.run(req).await;
    assert_eq!(report.outcome.as_deref().ok(), Some("ok"));
    assert!(last_user(&server.requests()[1].body).contains("declined"));
}

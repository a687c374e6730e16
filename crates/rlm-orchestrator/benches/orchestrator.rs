//! Orchestrator overhead, without model latency or code time:
//!
//! * `loop/10_iterations`: a 10-iteration run against an instant model and
//!   an instant REPL — everything the loop itself does per iteration
//!   (budget reservation and settlement, breaker, egress on outputs,
//!   parsing, records, history). Target: ≤ 10 ms per iteration.
//! * `batched/16x200ms`: `llm_query_batched` of 16 prompts against a model
//!   with 200 ms latency, `max_parallel_subcalls = 16`. Target: within 2×
//!   one call's latency (400 ms).
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::future::BoxFuture;
use rlm_orchestrator::provider::{
    CallKind, Completion, CompletionRequest, LlmProvider, ProviderError, TokenUsage,
};
use rlm_orchestrator::repl::{CellOutput, HostHandler, Repl, ReplError, ReplFactory, ReplSpec};
use rlm_orchestrator::{ContextInput, Orchestrator, RunRequest};
use serde_json::json;

/// Replies with code until turn `turns`, then FINAL; sub-calls echo.
#[derive(Debug)]
struct Model {
    turns: usize,
    latency: Duration,
}

impl LlmProvider for Model {
    fn name(&self) -> &str {
        "bench"
    }
    fn complete<'a>(
        &'a self,
        r: &'a CompletionRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            if !self.latency.is_zero() {
                tokio::time::sleep(self.latency).await;
            }
            let assistant_turns = r
                .messages
                .iter()
                .filter(|m| m.role == rlm_orchestrator::provider::Role::Assistant)
                .count();
            let text = match r.kind {
                CallKind::Sub => "sub answer".to_string(),
                CallKind::Root if assistant_turns + 1 >= self.turns => {
                    "```repl\nFINAL_NOW\n```".to_string()
                }
                CallKind::Root => "Looking.\n```repl\nprint(len(context))\n```".to_string(),
            };
            Ok(Completion {
                text,
                usage: TokenUsage {
                    input_tokens: 500,
                    output_tokens: 20,
                    cached_input_tokens: 0,
                },
                model: r.model.clone(),
            })
        })
    }
}

/// An instant REPL that prints a few KB per cell and answers through the
/// real host-call path: `FINAL_NOW` calls FINAL, `BATCH16` calls
/// llm_query_batched first.
#[derive(Debug, Default)]
struct Repls;

struct BenchRepl(Arc<dyn HostHandler>);

static CELLS: AtomicUsize = AtomicUsize::new(0);

impl Repl for BenchRepl {
    fn exec<'a>(&'a mut self, code: &'a str) -> BoxFuture<'a, Result<CellOutput, ReplError>> {
        Box::pin(async move {
            CELLS.fetch_add(1, Ordering::Relaxed);
            if code.contains("BATCH16") {
                let prompts: Vec<String> = (0..16).map(|i| format!("prompt {i}")).collect();
                let r = self
                    .0
                    .call(
                        "llm_query_batched",
                        json!({"args": [prompts], "kwargs": {}}),
                    )
                    .await
                    .unwrap();
                self.0
                    .call("FINAL", json!({"args": [r.to_string()], "kwargs": {}}))
                    .await
                    .unwrap();
            } else if code.contains("FINAL_NOW") {
                self.0
                    .call("FINAL", json!({"args": ["done"], "kwargs": {}}))
                    .await
                    .unwrap();
            }
            Ok(CellOutput {
                stdout: "line of ordinary output\n".repeat(100),
                ..CellOutput::default()
            })
        })
    }
    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl ReplFactory for Repls {
    fn start(&self, spec: ReplSpec) -> BoxFuture<'_, Result<Box<dyn Repl>, ReplError>> {
        Box::pin(async move { Ok(Box::new(BenchRepl(spec.host)) as Box<dyn Repl>) })
    }
}

fn orchestrator(model: Model, parallel: usize) -> Orchestrator {
    let cfg = rlm_config::Config::defaults().unwrap();
    Orchestrator::builder(&cfg, Arc::new(model), Arc::new(Repls))
        .unwrap()
        .settings(|s| {
            s.max_parallel_subcalls = parallel;
            s.limits = rlm_budget::BudgetLimits::unlimited();
        })
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let context = "a line of the context that the model never sees in full\n".repeat(20_000);

    let orch = orchestrator(
        Model {
            turns: 10,
            latency: Duration::ZERO,
        },
        8,
    );
    let mut g = c.benchmark_group("loop");
    g.throughput(Throughput::Elements(10));
    g.bench_function("10_iterations", |b| {
        b.to_async(&rt).iter(|| async {
            let r = orch
                .run(RunRequest::new("q", ContextInput::Text(context.clone())))
                .await;
            assert_eq!(r.iterations, 10);
        })
    });
    g.finish();

    // The batch: one root turn whose cell sends 16 prompts at once.
    #[derive(Debug)]
    struct BatchModel(Model);
    impl LlmProvider for BatchModel {
        fn name(&self) -> &str {
            "bench"
        }
        fn complete<'a>(
            &'a self,
            r: &'a CompletionRequest,
        ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
            Box::pin(async move {
                if r.kind == CallKind::Root {
                    return Ok(Completion {
                        text: "```repl\nBATCH16\n```".into(),
                        usage: TokenUsage::default(),
                        model: r.model.clone(),
                    });
                }
                self.0.complete(r).await
            })
        }
    }
    let orch = Orchestrator::builder(
        &rlm_config::Config::defaults().unwrap(),
        Arc::new(BatchModel(Model {
            turns: 1,
            latency: Duration::from_millis(200),
        })),
        Arc::new(Repls),
    )
    .unwrap()
    .settings(|s| s.max_parallel_subcalls = 16)
    .build()
    .unwrap();
    let mut g = c.benchmark_group("batched");
    g.sample_size(10);
    g.bench_function("16x200ms", |b| {
        b.to_async(&rt).iter(|| async {
            let r = orch.run(RunRequest::new("q", ContextInput::None)).await;
            assert!(r.outcome.is_ok(), "{:?}", r.outcome);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The bundled demo: the recorded model replies of examples/demo replayed,
//! the code running for real in the sandbox, gives the recorded answer.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use rlm_orchestrator::provider::ReplayProvider;
use rlm_orchestrator::{ContextInput, Orchestrator, RunRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_demo_replays_to_its_answer() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
    let cfg = support::config();
    let Some(repls) = support::docker(&cfg).await else {
        return;
    };
    let replay = Arc::new(ReplayProvider::from_file(&demo.join("trajectory.jsonl")).unwrap());
    let orch = Orchestrator::builder(&cfg, replay.clone(), repls)
        .unwrap()
        .build()
        .unwrap();
    let question = std::fs::read_to_string(demo.join("question.txt")).unwrap();
    let report = orch
        .run(RunRequest::new(
            question.trim(),
            ContextInput::File(demo.join("context.txt")),
        ))
        .await;
    let answer = report.outcome.unwrap();
    assert!(answer.contains("Badge 7731 (Dana Whitfield)"), "{answer}");
    assert!(answer.contains("02:47:13"), "{answer}");
    assert_eq!(report.iterations, 3);
    assert_eq!(
        report.budget.llm_calls, 9,
        "3 root turns and 6 sub-calls over the chunks"
    );
    assert_eq!(replay.remaining(), 0, "every recorded reply was used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_context_file_is_staged_for_the_sandbox() {
    use std::os::unix::fs::PermissionsExt;
    let cfg = support::config();
    let Some(repls) = support::docker(&cfg).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.txt");
    std::fs::write(&path, "secret-free but private").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = support::MockServer::start(Arc::new(|_, _| {
        support::Reply::text(support::repl("FINAL(len(context))"))
    }))
    .await;
    let orch = Orchestrator::builder(&cfg, server.provider(), repls)
        .unwrap()
        .build()
        .unwrap();
    let report = orch
        .run(RunRequest::new("q", ContextInput::File(path)))
        .await;
    assert_eq!(
        report.outcome.as_deref().ok(),
        Some("23"),
        "{:?}",
        report.outcome
    );
}

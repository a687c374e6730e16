//! The local backend: refused outside development, works inside it.
mod common;

use rlm_runtime::{ExecRequest, ExecStatus, LocalSandbox, RuntimeError, Sandbox, SessionRequest};

#[tokio::test]
async fn local_backend_only_under_development() {
    let refused = LocalSandbox::new(&common::config(&[]));
    assert!(matches!(refused, Err(RuntimeError::Config(_))));
    let cfg = common::config(&[
        ("profile", "development"),
        ("sandbox.execution_mode", "local"),
    ]);
    let sandbox = LocalSandbox::new(&cfg).expect("development + local");
    let mut s = sandbox.start(SessionRequest::new()).await.expect("start");
    assert_eq!(s.info().backend, "local");
    let r = s
        .exec(ExecRequest::new("y = 5\ny * 2"))
        .await
        .expect("exec");
    assert_eq!(r.stdout, "10\n");
    let r = s
        .exec(ExecRequest::new("import subprocess"))
        .await
        .expect("exec");
    assert_eq!(r.exception.map(|e| e.kind), Some("ImportError".to_string()));
    let r = s
        .exec(ExecRequest::new("import os; os._exit(4)"))
        .await
        .expect("exec");
    assert_eq!(r.status, ExecStatus::Died { exit_code: Some(4) });
    assert!(!s.is_alive());
    s.close().await;
}

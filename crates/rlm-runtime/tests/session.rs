//! Sessions against the real Docker engine: REPL state, host calls, output.
mod common;

use std::sync::Arc;

use rlm_runtime::{
    DockerSandbox, ExecRequest, ExecStatus, HostCallRegistry, Sandbox, SessionRequest,
};
use serde_json::json;

#[tokio::test]
async fn repl_state_hostcalls_and_isolation() {
    let Some(_host) = common::docker_or_skip("repl_state_hostcalls_and_isolation").await else {
        return;
    };
    let sandbox = DockerSandbox::new(&common::config(&[]))
        .await
        .expect("sandbox");
    assert!(sandbox.runtime().is_gvisor);
    let mut calls = HostCallRegistry::new();
    calls
        .register("add", |args| async move {
            let a = args["args"][0].as_i64().ok_or("a")?;
            let b = args["args"][1].as_i64().ok_or("b")?;
            Ok(json!(a + b))
        })
        .expect("register")
        .register("boom", |_| async move { Err("no such luck".to_string()) })
        .expect("register")
        .register("FINAL_VAR", |args| async move { Ok(args) })
        .expect("register");
    let t0 = std::time::Instant::now();
    let mut s = sandbox
        .start(SessionRequest::new().host_calls(Arc::new(calls)))
        .await
        .expect("start");
    eprintln!("runsc session start: {:?}", t0.elapsed());
    let info = s.info().clone();
    assert!(info.is_gvisor, "{info:?}");
    assert_ne!(info.kernel_release, info.host_kernel);
    assert_eq!(info.runtime, "runsc");

    let r = s
        .exec(ExecRequest::new("x = 41\nprint('hi')"))
        .await
        .expect("exec");
    assert_eq!(r.status, ExecStatus::Ok, "{r:?}");
    assert_eq!(r.stdout, "hi\n");
    let r = s.exec(ExecRequest::new("x + 1")).await.expect("exec");
    assert_eq!(r.stdout, "42\n");

    // Round trip latency of a trivial cell.
    let t0 = std::time::Instant::now();
    for _ in 0..20 {
        s.exec(ExecRequest::new("pass")).await.expect("exec");
    }
    eprintln!("exec round trip (runsc): {:?}", t0.elapsed() / 20);

    let r = s
        .exec(ExecRequest::new("print(add(2, 3))"))
        .await
        .expect("exec");
    assert_eq!(r.stdout, "5\n", "{r:?}");
    let r = s.exec(ExecRequest::new("boom()")).await.expect("exec");
    assert_eq!(r.status, ExecStatus::Raised);
    let e = r.exception.expect("exception");
    assert_eq!(e.kind, "HostCallError");
    assert!(e.message.contains("no such luck"));
    let r = s
        .exec(ExecRequest::new(
            "answer = {'a': 1}\nprint(FINAL_VAR('answer')['value'])",
        ))
        .await
        .expect("exec");
    assert_eq!(r.stdout, "{'a': 1}\n", "{r:?}");

    // Writes to the real fds are captured output, not frames.
    let r = s
        .exec(ExecRequest::new("import os, sys\nos.write(1, b'\\xff\\xff\\xff\\xffgarbage')\nos.write(2, b'err-raw')\nprint('after')\nsys.stderr.write('e2')"))
        .await
        .expect("exec");
    assert!(
        r.stdout.contains("garbage") && r.stdout.contains("after"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("err-raw") && r.stderr.contains("e2"),
        "{r:?}"
    );

    // Exceptions, sys.exit.
    let r = s.exec(ExecRequest::new("1/0")).await.expect("exec");
    assert_eq!(
        r.exception.as_ref().map(|e| e.kind.as_str()),
        Some("ZeroDivisionError")
    );
    assert!(r
        .exception
        .expect("e")
        .traceback
        .contains("ZeroDivisionError"));
    let r = s
        .exec(ExecRequest::new("import sys; sys.exit(3)"))
        .await
        .expect("exec");
    assert_eq!(r.status, ExecStatus::Exited { code: 3 });
    assert_eq!(r.exit_code(), 1);

    // Defense layers.
    let r = s
        .exec(ExecRequest::new("import subprocess"))
        .await
        .expect("exec");
    assert_eq!(r.exception.map(|e| e.kind), Some("ImportError".to_string()));
    let r = s
        .exec(ExecRequest::new(
            "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('1.1.1.1', 80))",
        ))
        .await
        .expect("exec");
    let kind = r.exception.map(|e| e.kind).unwrap_or_default();
    assert!(
        [
            "OSError",
            "PermissionError",
            "ConnectionRefusedError",
            "TimeoutError",
            "gaierror"
        ]
        .contains(&kind.as_str())
            || kind.ends_with("Error"),
        "{kind}"
    );
    let r = s.exec(ExecRequest::new("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\nexcept OSError as e:\n    print('oserror', type(e).__name__)")).await.expect("exec");
    assert!(r.stdout.starts_with("oserror"), "{r:?}");
    let r = s
        .exec(ExecRequest::new("open('/etc/shadow').read()"))
        .await
        .expect("exec");
    assert_eq!(
        r.exception.map(|e| e.kind),
        Some("PermissionError".to_string())
    );
    let r = s
        .exec(ExecRequest::new(
            "import os; print(os.getuid(), os.environ.get('RLM_API_KEY'), sorted(os.environ))",
        ))
        .await
        .expect("exec");
    assert!(r.stdout.starts_with("65534 None"), "{r:?}");
    let r = s
        .exec(ExecRequest::new("open('/etc/x', 'w')"))
        .await
        .expect("exec");
    assert!(r.exception.is_some(), "read-only root");
    assert!(s.is_alive());
    let cid = info.container_id.clone().expect("cid");
    s.close().await;
    assert!(!common::my_containers().contains(&cid));
}

#[tokio::test]
async fn runc_session_reports_host_kernel() {
    let Some(_host) = common::docker_or_skip("runc_session_reports_host_kernel").await else {
        return;
    };
    let sandbox = DockerSandbox::new(&common::runc_config(&[]))
        .await
        .expect("sandbox");
    let t0 = std::time::Instant::now();
    let mut s = sandbox.start(SessionRequest::new()).await.expect("start");
    eprintln!("runc session start: {:?}", t0.elapsed());
    assert!(!s.info().is_gvisor);
    assert_eq!(s.info().runtime, "runc");
    assert_eq!(s.info().kernel_release, s.info().host_kernel);
    let t0 = std::time::Instant::now();
    for _ in 0..20 {
        s.exec(ExecRequest::new("pass")).await.expect("exec");
    }
    eprintln!("exec round trip (runc): {:?}", t0.elapsed() / 20);
    s.close().await;
}

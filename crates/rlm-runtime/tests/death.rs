//! Timeouts, OOM, hostile frames, cleanup and the reaper, against the real
//! Docker engine.
mod common;

use std::collections::HashMap;
use std::time::Duration;

use rlm_runtime::{DockerSandbox, ExecRequest, ExecStatus, RuntimeError, Sandbox, SessionRequest};

#[tokio::test]
async fn timeout_interrupts_then_kills() {
    let Some(_h) = common::docker_or_skip("timeout_interrupts_then_kills").await else {
        return;
    };
    let sandbox = DockerSandbox::new(&common::config(&[("sandbox.kill_grace", "1s")]))
        .await
        .expect("sandbox");
    let mut s = sandbox.start(SessionRequest::new()).await.expect("start");
    let r = s
        .exec(
            ExecRequest::new("x = 1\nimport time\ntime.sleep(60)")
                .timeout(Duration::from_millis(500)),
        )
        .await
        .expect("exec");
    assert_eq!(r.status, ExecStatus::TimedOut { killed: false }, "{r:?}");
    assert_eq!(
        r.exception.as_ref().map(|e| e.kind.as_str()),
        Some("KeyboardInterrupt")
    );
    assert_eq!(r.exit_code(), 124);
    // Still alive, state kept.
    let r = s.exec(ExecRequest::new("x")).await.expect("exec");
    assert_eq!(r.stdout, "1\n");
    // Code that swallows the interrupt gets the container killed.
    let stubborn = "import time\nwhile True:\n    try:\n        time.sleep(5)\n    except KeyboardInterrupt:\n        pass";
    let t0 = std::time::Instant::now();
    let r = s
        .exec(ExecRequest::new(stubborn).timeout(Duration::from_millis(500)))
        .await
        .expect("exec");
    assert_eq!(r.status, ExecStatus::TimedOut { killed: true }, "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(!s.is_alive());
    let err = s.exec(ExecRequest::new("1")).await.expect_err("dead");
    assert!(matches!(err, RuntimeError::SessionDead { .. }), "{err}");
    let cid = s.info().container_id.clone().expect("cid");
    s.close().await;
    assert!(!common::my_containers().contains(&cid));
    // A fresh session works.
    let mut s = sandbox
        .start(SessionRequest::new())
        .await
        .expect("start again");
    assert_eq!(
        s.exec(ExecRequest::new("2")).await.expect("exec").stdout,
        "2\n"
    );
    s.close().await;
}

async fn oom_case(cfg: rlm_config::Config) {
    let sandbox = DockerSandbox::new(&cfg).await.expect("sandbox");
    let mut s = sandbox.start(SessionRequest::new()).await.expect("start");
    let r = s
        .exec(ExecRequest::new(
            "chunks = []\nwhile True:\n    chunks.append(b'x' * (16 << 20))",
        ))
        .await
        .expect("exec");
    // Python may get MemoryError first (if the kernel refuses the
    // allocation) or be killed by the OOM killer: both are memory limits.
    let mem_error = r.exception.as_ref().map(|e| e.kind.as_str()) == Some("MemoryError");
    assert!(
        r.status == ExecStatus::OutOfMemory || mem_error,
        "{r:?} ({})",
        s.info().runtime
    );
    if r.status == ExecStatus::OutOfMemory {
        assert_eq!(r.exit_code(), 137);
        assert!(!s.is_alive());
    }
    s.close().await;
}

#[tokio::test]
async fn oom_is_reported() {
    let Some(_h) = common::docker_or_skip("oom_is_reported").await else {
        return;
    };
    oom_case(common::config(&[("sandbox.memory_limit", "96m")])).await;
    oom_case(common::runc_config(&[("sandbox.memory_limit", "96m")])).await;
}

#[tokio::test]
async fn hostile_frames_end_the_session() {
    let Some(_h) = common::docker_or_skip("hostile_frames_end_the_session").await else {
        return;
    };
    let forge = |payload: &str| {
        format!(
            "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, {payload})\n    except OSError:\n        pass\nimport time\ntime.sleep(2)"
        )
    };
    let cases = [
        ("gvisor", forge("b'\\xff\\x00garbage'")),
        ("runc", forge("b'ffffffff'")),
        (
            "runc",
            forge("b'0000000b{\"v\":1,\"type\":\"nope\"}'.replace(b'0000000b', b'%08x' % 24)"),
        ),
        ("runc", forge("b'%08x' % 18 + b'{\"v\":9,\"type\":\"x\"}'")),
        ("runc", forge("b'%08x' % 8 + b'not json'")),
    ];
    let gvisor = DockerSandbox::new(&common::config(&[]))
        .await
        .expect("sandbox");
    let runc = DockerSandbox::new(&common::runc_config(&[]))
        .await
        .expect("sandbox");
    for (which, code) in cases {
        let sb = if which == "gvisor" { &gvisor } else { &runc };
        let mut s = sb.start(SessionRequest::new()).await.expect("start");
        let err = s
            .exec(ExecRequest::new(code.clone()))
            .await
            .expect_err("protocol error");
        assert!(
            matches!(err, RuntimeError::Protocol { .. }),
            "{code}: {err}"
        );
        assert!(!s.is_alive());
        s.close().await;
    }
    // The host is fine and a new session works.
    let mut s = gvisor.start(SessionRequest::new()).await.expect("start");
    assert_eq!(
        s.exec(ExecRequest::new("7")).await.expect("exec").stdout,
        "7\n"
    );
    s.close().await;
}

#[tokio::test]
async fn drop_failed_start_and_reaper_clean_up() {
    let Some(host) = common::docker_or_skip("drop_failed_start_and_reaper_clean_up").await else {
        return;
    };
    let sandbox = DockerSandbox::new(&common::config(&[]))
        .await
        .expect("sandbox");
    // Drop without close removes the container.
    let s = sandbox.start(SessionRequest::new()).await.expect("start");
    let cid = s.info().container_id.clone().expect("cid");
    assert!(common::my_containers().contains(&cid));
    drop(s);
    assert!(!common::my_containers().contains(&cid));

    // A start that fails inside runsc (pids limit below what gVisor needs)
    // leaves no container and no runsc processes behind.
    let mut cfg = common::config(&[]);
    cfg.sandbox.pids_limit = 4;
    let bad = DockerSandbox::new(&cfg).await.expect("sandbox");
    let err = bad
        .start(SessionRequest::new())
        .await
        .expect_err("start must fail");
    assert!(err.is_unavailable(), "{err}");
    // Other tests run concurrently: look for a container with the bad limit.
    for id in common::my_containers() {
        if let Ok(c) = host.client().inspect_container(&id, None).await {
            let pids = c.host_config.and_then(|h| h.pids_limit);
            assert_ne!(pids, Some(4), "failed start left container {id}");
        }
    }
    let report = host.reap_orphans().await;
    assert!(report.killed_processes.is_empty(), "{report:?}");

    // The reaper removes a labelled container whose owner is gone.
    let mut dead = std::process::Command::new("true").spawn().expect("spawn");
    let dead_pid = dead.id();
    dead.wait().expect("wait");
    let mut labels = HashMap::new();
    labels.insert("org.rlm.session".to_string(), "orphan-test".to_string());
    labels.insert("org.rlm.owner-pid".to_string(), dead_pid.to_string());
    let body = bollard::models::ContainerCreateBody {
        image: Some(common::IMAGE.to_string()),
        cmd: Some(vec!["true".to_string()]),
        labels: Some(labels),
        ..Default::default()
    };
    let created = host
        .client()
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await
        .expect("create");
    let report = host.reap_orphans().await;
    assert!(
        report.removed.iter().any(|(id, _)| *id == created.id),
        "{report:?}"
    );
}

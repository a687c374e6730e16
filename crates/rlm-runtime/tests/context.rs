//! The context handle on a file far larger than the sandbox's memory.
mod common;

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;

use rlm_runtime::{DockerSandbox, ExecRequest, ExecStatus, Sandbox, SessionRequest, WarmPool};

#[tokio::test]
async fn search_a_sparse_gib_file_under_256m() {
    let Some(_h) = common::docker_or_skip("search_a_sparse_gib_file_under_256m").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.txt");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(b"first line\nsecond line\nthird NEEDLE-1 line\n")
        .expect("write");
    let offsets = [700u64 << 20, (1u64 << 30) + (100 << 20)];
    for (i, off) in offsets.iter().enumerate() {
        f.seek(SeekFrom::Start(*off)).expect("seek");
        write!(f, "NEEDLE-{}", i + 2).expect("write");
    }
    f.set_len((1u64 << 30) + (200 << 20)).expect("len");
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let sandbox = DockerSandbox::new(&common::config(&[("sandbox.memory_limit", "256m")]))
        .await
        .expect("sandbox");
    let mut s = sandbox
        .start(SessionRequest::new().context(&path))
        .await
        .expect("start");
    let r = s
        .exec(ExecRequest::new("len(context)"))
        .await
        .expect("exec");
    assert_eq!(r.stdout.trim(), ((1u64 << 30) + (200 << 20)).to_string());
    let t0 = std::time::Instant::now();
    let r = s
        .exec(
            ExecRequest::new("print(context.search(rb'NEEDLE-\\d', max_results=10))")
                .timeout(std::time::Duration::from_secs(60)),
        )
        .await
        .expect("exec");
    eprintln!("search over 1.2 GiB: {:?}", t0.elapsed());
    assert_eq!(r.status, ExecStatus::Ok, "{r:?}");
    let want = format!(
        "[(29, 'NEEDLE-1'), ({}, 'NEEDLE-2'), ({}, 'NEEDLE-3')]\n",
        offsets[0], offsets[1]
    );
    assert_eq!(r.stdout, want);
    let r = s
        .exec(ExecRequest::new(format!(
            "print(context[0:5], context.read({}, 8), context.lines(1, 3), repr(context)[:9])",
            offsets[0]
        )))
        .await
        .expect("exec");
    assert_eq!(
        r.stdout, "first NEEDLE-2 ['second line', 'third NEEDLE-1 line'] <context:\n",
        "{r:?}"
    );
    let r = s
        .exec(ExecRequest::new("open('/rlm/context', 'r+')"))
        .await
        .expect("exec");
    assert!(r.exception.is_some(), "context is read-only");
    s.close().await;
}

#[tokio::test]
async fn warm_pool_serves_each_container_once() {
    let Some(_h) = common::docker_or_skip("warm_pool_serves_each_container_once").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ctx.txt");
    std::fs::write(&path, "pooled context").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let sandbox = DockerSandbox::new(&common::config(&[]))
        .await
        .expect("sandbox");
    let pool = WarmPool::new(sandbox, 2);
    pool.fill().await.expect("fill");
    assert_eq!(pool.ready().await, 2);
    let t0 = std::time::Instant::now();
    let mut a = pool
        .start(SessionRequest::new().context(&path))
        .await
        .expect("a");
    let took = t0.elapsed();
    eprintln!("warm pool session ready in {took:?}");
    assert!(took < std::time::Duration::from_millis(300), "{took:?}");
    let r = a.exec(ExecRequest::new("context[:]")).await.expect("exec");
    assert_eq!(r.stdout, "'pooled context'\n");
    let mut b = pool.start(SessionRequest::new()).await.expect("b");
    assert_ne!(a.info().container_id, b.info().container_id);
    assert_eq!(
        b.exec(ExecRequest::new("len(context)"))
            .await
            .expect("exec")
            .stdout,
        "0\n"
    );
    let used = [a.info().container_id.clone(), b.info().container_id.clone()];
    a.close().await;
    b.close().await;
    pool.fill().await.expect("refill");
    let c = pool.start(SessionRequest::new()).await.expect("c");
    assert!(
        !used.contains(&c.info().container_id),
        "a pooled container serves one session"
    );
    c.close().await;
    pool.close().await;
    // Background refills may still be finishing: give them a moment.
    for _ in 0..50 {
        if common::my_containers_of_kind(Some("pool")).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let left = common::my_containers_of_kind(Some("pool"));
    assert!(left.is_empty(), "{left:?}");
}

//! A session start abandoned at any point (its future dropped, as Ctrl-C
//! or a caller's timeout does) leaves no container behind, against the real
//! Docker engine. Its own test binary: it counts every container this
//! process owns.
mod common;

use std::time::Duration;

use rlm_runtime::{DockerSandbox, Sandbox, SessionRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_starts_leave_no_container() {
    let Some(_h) = common::docker_or_skip("abandoned_starts_leave_no_container").await else {
        return;
    };
    let sandbox = DockerSandbox::new(&common::config(&[]))
        .await
        .expect("sandbox");
    // Fine steps where `docker create` is in flight (the first tens of
    // milliseconds), coarser ones over attach, start and boot.
    let delays = (0..40u64)
        .step_by(2)
        .chain((40..700).step_by(60))
        .map(Duration::from_millis);
    let mut abandoned = 0;
    for delay in delays {
        match tokio::time::timeout(delay, sandbox.start(SessionRequest::new())).await {
            Err(_) => abandoned += 1,
            // Finished in time: dropping the session removes it.
            Ok(session) => drop(session),
        }
    }
    assert!(abandoned > 0, "every start finished before its deadline");
    // A create that was in flight when its start was dropped lands in
    // Docker later; it must be removed when it does, without any sweep.
    let mut left = common::my_containers();
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = common::my_containers();
    }
    assert!(
        left.is_empty(),
        "{} of {abandoned} abandoned starts left their container: {left:?}",
        left.len()
    );
}

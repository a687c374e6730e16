//! Shared helpers of the Docker-backed tests.
#![allow(dead_code, clippy::print_stderr, unreachable_pub)]

use rlm_runtime::DockerHost;

/// The Docker host, or `None` (test skipped with a note) when the engine is
/// unreachable; with `CI=true` an unreachable engine fails the test.
pub async fn docker_or_skip(test: &str) -> Option<DockerHost> {
    match DockerHost::connect().await {
        Ok(h) => Some(h),
        Err(e) => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("{test}: Docker is required when CI=true: {e}");
            }
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// The image the tests run.
pub const IMAGE: &str = "rlm-sandbox:bookworm";

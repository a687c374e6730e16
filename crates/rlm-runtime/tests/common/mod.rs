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

use rlm_config::{Config, ConfigLoader};

/// The maximum-profile defaults with extra settings.
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut l = ConfigLoader::new();
    for (k, v) in extra {
        l = l.flag(k, *v, k);
    }
    l.load().expect("config").config
}

/// A standard-profile configuration that uses runc.
pub fn runc_config(extra: &[(&str, &str)]) -> Config {
    let mut all = vec![
        ("profile", "standard"),
        ("sandbox.docker_runtime", "runc"),
        ("sandbox.allow_unsafe_runtime", "true"),
    ];
    all.extend_from_slice(extra);
    config(&all)
}

/// Full ids of the containers this test process owns.
pub fn my_containers() -> Vec<String> {
    my_containers_of_kind(None)
}

/// The same, only those of one kind (`session`, `pool`, `probe`).
pub fn my_containers_of_kind(kind: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "ps".to_string(),
        "-a".to_string(),
        "-q".to_string(),
        "--no-trunc".to_string(),
        "--filter".to_string(),
        format!("label=org.rlm.owner-pid={}", std::process::id()),
    ];
    if let Some(k) = kind {
        args.push("--filter".to_string());
        args.push(format!("label=org.rlm.kind={k}"));
    }
    let out = std::process::Command::new("docker")
        .args(&args)
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

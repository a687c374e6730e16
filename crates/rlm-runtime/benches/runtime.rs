//! Runtime benchmarks: cold start against plain `docker run`, warm-pool
//! acquire, exec round trips under runc and runsc, a 1 MB output, and a
//! search of a 1 GiB context inside gVisor.
//!
//! ```text
//! cargo bench -p rlm-runtime --bench runtime
//! ```
//!
//! Criterion measures the `print(1)` round trip; the figures criterion
//! cannot measure (container starts, percentiles, the 1 GiB search) are
//! timed directly. Everything is written to
//! `target/bench-figures/runtime.json` (merged by `cargo xtask bench`) with
//! a pass/fail per target, and printed.

// A benchmark reports to a person: printing is the job.
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use rlm_config::{Config, ConfigLoader};
use rlm_runtime::{DockerSandbox, ExecRequest, Sandbox, SessionRequest, WarmPool};
use serde_json::{json, Map, Value};

const STARTS: usize = 5;
const ROUND_TRIPS: usize = 300;

fn config(runtime: &str) -> Config {
    let mut env = vec![("RLM_DOCKER_RUNTIME", runtime)];
    if runtime == "runc" {
        env.push(("RLM_PROFILE", "standard"));
    }
    match ConfigLoader::new().env(env).load() {
        Ok(l) => l.config,
        Err(e) => panic!("configuration for {runtime}: {e}"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median wall time of `docker run --rm --runtime R --network none IMAGE true`.
fn docker_run_true(runtime: &str, image: &str) -> f64 {
    let mut t = Vec::new();
    for _ in 0..STARTS {
        let t0 = Instant::now();
        let ok = Command::new("docker")
            .args([
                "run",
                "--rm",
                "--runtime",
                runtime,
                "--network",
                "none",
                image,
                "true",
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            t.push(ms(t0.elapsed()));
        }
    }
    median(t)
}

struct Figures {
    map: Map<String, Value>,
    targets: Map<String, Value>,
}

impl Figures {
    fn put(&mut self, k: &str, v: f64) {
        let rounded = (v * 1000.0).round() / 1000.0;
        println!("  {k:<34} {rounded}");
        self.map.insert(k.to_string(), json!(rounded));
    }

    fn target(&mut self, k: &str, value: f64, limit: f64, what: &str) {
        let pass = value.is_finite() && value <= limit;
        println!(
            "  target {k:<36} {} ({value:.3} vs {limit:.3}: {what})",
            if pass { "PASS" } else { "MISS" }
        );
        self.targets.insert(
            k.to_string(),
            json!({ "value": (value * 1000.0).round() / 1000.0, "limit": limit, "pass": pass, "what": what }),
        );
    }
}

async fn cold_start(sandbox: &DockerSandbox) -> f64 {
    let mut t = Vec::new();
    for _ in 0..STARTS {
        let t0 = Instant::now();
        match sandbox.start(SessionRequest::new()).await {
            Ok(s) => {
                t.push(ms(t0.elapsed()));
                s.close().await;
            }
            Err(e) => eprintln!("cold start failed: {e}"),
        }
    }
    median(t)
}

/// p50 and p99 of a `print(1)` round trip, in microseconds.
async fn round_trips(sandbox: &DockerSandbox) -> (f64, f64) {
    let mut s = match sandbox.start(SessionRequest::new()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("session start failed: {e}");
            return (f64::NAN, f64::NAN);
        }
    };
    let mut t = Vec::new();
    for i in 0..ROUND_TRIPS + 20 {
        let t0 = Instant::now();
        let ok = s.exec(ExecRequest::new("print(1)")).await.is_ok();
        // The first cells warm the interpreter and the attach stream.
        if ok && i >= 20 {
            t.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    s.close().await;
    (percentile(t.clone(), 0.5), percentile(t, 0.99))
}

async fn output_1mb(sandbox: &DockerSandbox) -> f64 {
    let Ok(mut s) = sandbox.start(SessionRequest::new()).await else {
        return f64::NAN;
    };
    let mut t = Vec::new();
    for _ in 0..10 {
        let t0 = Instant::now();
        if let Ok(o) = s.exec(ExecRequest::new("print('x' * 1_000_000)")).await {
            if o.stdout.len() >= 1_000_000 {
                t.push(ms(t0.elapsed()));
            }
        }
    }
    s.close().await;
    median(t)
}

async fn warm_pool_acquire(sandbox: DockerSandbox) -> f64 {
    let pool = WarmPool::new(sandbox, 1);
    let mut t = Vec::new();
    for _ in 0..STARTS {
        if let Err(e) = pool.fill().await {
            eprintln!("pool fill failed: {e}");
            break;
        }
        let t0 = Instant::now();
        match pool.start(SessionRequest::new()).await {
            Ok(s) => {
                t.push(ms(t0.elapsed()));
                s.close().await;
            }
            Err(e) => eprintln!("pool acquire failed: {e}"),
        }
    }
    pool.close().await;
    median(t)
}

/// A sparse 1 GiB file with a needle 1 MiB before its end.
fn sparse_context() -> std::io::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::Builder::new().prefix("rlm-bench-").tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let path = dir.path().join("context-1gib.txt");
    let mut f = std::fs::File::create(&path)?;
    f.set_len(1 << 30)?;
    f.seek(SeekFrom::Start((1 << 30) - (1 << 20)))?;
    f.write_all(b"NEEDLE-7f3a9c-in-the-haystack")?;
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    Ok((dir, path))
}

/// Seconds for `context.search` to find the needle, and whether it did.
async fn context_search(sandbox: &DockerSandbox) -> (f64, String) {
    let (_dir, path) = match sparse_context() {
        Ok(x) => x,
        Err(e) => return (f64::NAN, format!("cannot write the context: {e}")),
    };
    let mut s = match sandbox.start(SessionRequest::new().context(&path)).await {
        Ok(s) => s,
        Err(e) => return (f64::NAN, format!("session start: {e}")),
    };
    let code = "context.search('NEEDLE-[0-9a-f]+', max_results=1)";
    let req = ExecRequest::new(code).timeout(Duration::from_secs(60));
    let t0 = Instant::now();
    let r = s.exec(req).await;
    let secs = t0.elapsed().as_secs_f64();
    s.close().await;
    match r {
        Ok(o) if o.stdout.contains(&format!("{}", (1u64 << 30) - (1 << 20))) => {
            (secs, "found at the expected offset".to_string())
        }
        Ok(o) => (f64::NAN, format!("{:?}: {}", o.status, o.stdout.trim())),
        Err(e) => (f64::NAN, e.to_string()),
    }
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio: {e}"),
    };
    let mut fig = Figures {
        map: Map::new(),
        targets: Map::new(),
    };
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    for runtime in ["runc", "runsc"] {
        println!("runtime {runtime}:");
        let cfg = config(runtime);
        let sandbox = match rt.block_on(DockerSandbox::new(&cfg)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot create the {runtime} sandbox: {e}");
                continue;
            }
        };
        let plain = docker_run_true(runtime, &cfg.sandbox.docker_image);
        fig.put(&format!("docker_run_true_{runtime}_ms"), plain);
        let cold = rt.block_on(cold_start(&sandbox));
        fig.put(&format!("cold_start_{runtime}_ms"), cold);
        fig.put(&format!("cold_start_ratio_{runtime}"), cold / plain);
        fig.target(
            &format!("cold_start_{runtime}_le_1.2x_docker_run"),
            cold / plain,
            1.2,
            "cold session start / plain docker run --rm IMAGE true, same runtime",
        );
        let (p50, p99) = rt.block_on(round_trips(&sandbox));
        fig.put(&format!("exec_roundtrip_p50_us_{runtime}"), p50);
        fig.put(&format!("exec_roundtrip_p99_us_{runtime}"), p99);
        let limit_us = if runtime == "runc" { 1000.0 } else { 2000.0 };
        fig.target(
            &format!("exec_roundtrip_p50_{runtime}"),
            p50,
            limit_us,
            "warm print(1) round trip p50 in microseconds",
        );
        // The same round trip under criterion, for its report.
        if let Ok(mut s) = rt.block_on(sandbox.start(SessionRequest::new())) {
            criterion.bench_function(&format!("exec_roundtrip_print1/{runtime}"), |b| {
                b.iter(|| rt.block_on(s.exec(ExecRequest::new("print(1)"))).is_ok())
            });
            rt.block_on(s.close());
        }
        if runtime == "runsc" {
            let out = rt.block_on(output_1mb(&sandbox));
            fig.put("output_1mb_roundtrip_ms_runsc", out);
            let (secs, note) = rt.block_on(context_search(&sandbox));
            println!("  context search: {note}");
            fig.put("context_search_1gib_s_runsc", secs);
            fig.target(
                "context_search_1gib_runsc",
                secs,
                5.0,
                "seconds for context.search to find a needle near the end of a 1 GiB context, inside gVisor within the 512m memory limit",
            );
            let acquire = rt.block_on(warm_pool_acquire(sandbox));
            fig.put("warm_pool_acquire_ms", acquire);
            fig.target(
                "warm_pool_acquire",
                acquire,
                5.0,
                "milliseconds to take a session from a filled warm pool (runsc)",
            );
        }
    }
    criterion.final_summary();

    let mut out = fig.map;
    out.insert("targets".to_string(), Value::Object(fig.targets));
    let dir = target_dir().join("bench-figures");
    let path = dir.join("runtime.json");
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let text = serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default();
        std::fs::write(&path, text)
    });
    match written {
        Ok(()) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}

/// The workspace's `target` directory, where `cargo xtask bench` looks
/// (whatever `CARGO_TARGET_DIR` the bench was built with).
fn target_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("target"))
        .unwrap_or_else(|| PathBuf::from("target"))
}

//! The live attack suite: every attack in `security/attacks.rs` runs as
//! model-written Python inside real sandbox sessions, under gVisor (`runsc`)
//! and under `runc`, and a verdict function decides blocked / info /
//! escaped / error. `cargo xtask security` runs this.
//!
//! ```text
//! cargo run -p rlm-runtime --example security -- [--runtime runsc] [--runtime runc] [--json] [--only SUBSTR]
//! ```
//!
//! Exit status: 0 when nothing escaped and every verdict was reached; 1 on
//! any escape or harness error; 2 on bad usage.

// A command-line report for a person (or JSON for CI): printing is the job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "security/attacks.rs"]
mod attacks;
#[path = "security/model.rs"]
mod model;
#[path = "security/prelude.rs"]
mod prelude;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rlm_config::{Config, ConfigLoader};

use rlm_runtime::{
    DockerSandbox, ExecOutcome, ExecRequest, HostCallRegistry, Sandbox, Session, SessionRequest,
};
use serde_json::json;

use model::{short, Attack, Category, Env, Run, Verdict};

/// The environment variable holding the host canary.
const CANARY_VAR: &str = "RLM_SECURITY_SUITE_CANARY";
/// Default timeout of one attack cell.
const CELL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long past its timeout an exec may take before the host driver
/// counts as stalled.
const HANG_MARGIN: Duration = Duration::from_secs(20);
/// Error prefix: the exec task panicked.
pub(crate) const HOST_PANIC: &str = "HOST PANIC";
/// Error prefix: the exec never returned.
pub(crate) const HOST_HUNG: &str = "HOST HUNG";
/// Fresh-session attacks run this many at a time.
const FRESH_PARALLEL: usize = 2;

struct Options {
    runtimes: Vec<String>,
    json: bool,
    only: Option<String>,
}

fn usage() -> &'static str {
    "usage: security [--runtime runsc|runc]... [--json] [--only SUBSTRING]\n\
     Runs the live attack suite (default: both runtimes)."
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        runtimes: Vec::new(),
        json: false,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runtime" => match args.next().as_deref() {
                Some(r @ ("runsc" | "runc")) => o.runtimes.push(r.to_string()),
                other => return Err(format!("--runtime takes runsc or runc, got {other:?}")),
            },
            "--json" => o.json = true,
            "--only" => o.only = Some(args.next().ok_or("--only takes a substring")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.runtimes.is_empty() {
        o.runtimes = vec!["runsc".to_string(), "runc".to_string()];
    }
    o.runtimes.dedup();
    Ok(o)
}

/// One line of the report.
struct Row {
    attack: String,
    category: Category,
    runtime: String,
    verdict: Verdict,
    millis: u128,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if ok.is_err() {
        // Not security-critical (a canary): fall back to time and pid.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        return format!("{t:x}{:x}", std::process::id());
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The files the sessions see: a context with a secret, and a host file next
/// to it that must stay out of reach.
struct Fixture {
    _dir: tempfile::TempDir,
    context: PathBuf,
    context_secret: String,
    host_secret: String,
}

fn fixture() -> std::io::Result<Fixture> {
    let dir = tempfile::Builder::new().prefix("rlm-security-").tempdir()?;
    let context_secret = format!("CTXSECRET-{}", random_hex(12));
    let host_secret = format!("HOSTSECRET-{}", random_hex(12));
    let context = dir.path().join("context.txt");
    // 3 MiB: bigger than the 1 MiB capture cap, so the caps are tested.
    let mut text = format!("{context_secret}\n");
    let line = "the quick brown fox jumps over the lazy dog 0123456789\n";
    while text.len() < 3 << 20 {
        text.push_str(line);
    }
    std::fs::write(&context, text)?;
    std::fs::set_permissions(&context, std::fs::Permissions::from_mode(0o644))?;
    let sibling = dir.path().join("host-secret.txt");
    std::fs::write(&sibling, &host_secret)?;
    Ok(Fixture {
        _dir: dir,
        context,
        context_secret,
        host_secret,
    })
}

fn config_for(runtime: &str) -> Result<Config, String> {
    let mut env: Vec<(&str, &str)> = vec![
        ("RLM_DOCKER_RUNTIME", runtime),
        ("RLM_EXECUTION_TIMEOUT", "15s"),
        ("RLM_KILL_GRACE", "1s"),
    ];
    if runtime == "runc" {
        env.push(("RLM_PROFILE", "standard"));
    }
    ConfigLoader::new()
        .env(env)
        .load()
        .map(|l| l.config)
        .map_err(|e| format!("configuration for {runtime}: {e}"))
}

fn read_trim(p: &str) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Whether Docker no longer knows container `id`.
async fn container_gone(id: &str) -> bool {
    for _ in 0..30 {
        let out = tokio::process::Command::new("docker")
            .args(["inspect", "--format", "{{.Id}}", id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
        match out {
            Ok(s) if !s.success() => return true,
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => return false,
        }
    }
    false
}

/// The environment keys `image` sets itself.
async fn image_env_keys(image: &str) -> Vec<String> {
    let out = tokio::process::Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{json .Config.Env}}",
            image,
        ])
        .output()
        .await;
    let Ok(out) = out else { return Vec::new() };
    let list: Vec<String> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    list.iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string()))
        .collect()
}

/// Host processes whose command line carries `marker`.
fn marked_processes(marker: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let me = std::process::id().to_string();
    dir.flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.chars().all(|c| c.is_ascii_digit()) && name != me.as_str()
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
        })
        .count()
}

/// Everything one runtime's run shares.
struct Bench {
    runtime: String,
    sandbox: DockerSandbox,
    context: PathBuf,
    env: Env,
    containers: std::sync::Mutex<Vec<String>>,
}

/// Host functions of every session: `echo` (returns its arguments) counted
/// in `calls`.
fn request(context: &Path, calls: Arc<AtomicUsize>) -> Result<SessionRequest, String> {
    let mut reg = HostCallRegistry::new();
    reg.register("echo", move |v| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(v)
        }
    })?;
    Ok(SessionRequest::new()
        .context(context)
        .host_calls(Arc::new(reg)))
}

impl Bench {
    /// A session with the prelude defined.
    async fn start(&self, calls: Arc<AtomicUsize>) -> Result<Box<dyn Session>, String> {
        let mut s = self
            .sandbox
            .start(request(&self.context, calls)?)
            .await
            .map_err(|e| format!("session start: {e}"))?;
        if let Some(id) = &s.info().container_id {
            if let Ok(mut c) = self.containers.lock() {
                c.push(id.clone());
            }
        }
        let out = s
            .exec(ExecRequest::new(prelude::PRELUDE).timeout(Duration::from_secs(20)))
            .await
            .map_err(|e| format!("prelude: {e}"))?;
        if out.exception.is_some() {
            s.close().await;
            return Err(format!("prelude raised: {}", model::describe(&out)));
        }
        Ok(s)
    }

    fn row(&self, a: &Attack, verdict: Verdict, t0: Instant) -> Row {
        Row {
            attack: a.name.to_string(),
            category: a.category,
            runtime: self.runtime.clone(),
            verdict,
            millis: t0.elapsed().as_millis(),
        }
    }

    /// An attack in its own session, closed and checked afterwards.
    async fn run_fresh(&self, a: &Attack) -> Row {
        let t0 = Instant::now();
        let calls = Arc::new(AtomicUsize::new(0));
        let s = match self.start(calls.clone()).await {
            Ok(s) => s,
            Err(e) => return self.row(a, Verdict::Error(e), t0),
        };
        let id = s.info().container_id.clone();
        let t = Instant::now();
        let (s, outcome) = exec_guarded(s, a.code.clone(), a.timeout.unwrap_or(CELL_TIMEOUT)).await;
        let elapsed = t.elapsed();
        let (s, followup) = run_followup(s, a).await;
        let alive = s.as_ref().is_some_and(|s| s.is_alive());
        if let Some(s) = s {
            s.close().await;
        }
        let container_removed = match &id {
            Some(id) => Some(container_gone(id).await),
            None => None,
        };
        let run = Run {
            outcome,
            elapsed,
            followup,
            alive,
            calls: calls.load(Ordering::SeqCst),
            container_removed,
            stray_processes: Some(marked_processes(&self.env.marker)),
        };
        self.row(a, (a.judge)(&self.env, &run), t0)
    }
}

async fn run_followup(
    s: Option<Box<dyn Session>>,
    a: &Attack,
) -> (
    Option<Box<dyn Session>>,
    Option<Result<ExecOutcome, String>>,
) {
    match (a.followup, s) {
        (Some(code), Some(s)) if s.is_alive() => {
            let (s, r) = exec_guarded(s, code.to_string(), CELL_TIMEOUT).await;
            (s, Some(r))
        }
        (_, s) => (s, None),
    }
}

/// Runs one cell on a session in its own task, so a panic in the host
/// driver is a verdict, not the end of the suite.
async fn exec_guarded(
    mut session: Box<dyn Session>,
    code: String,
    timeout: Duration,
) -> (Option<Box<dyn Session>>, Result<ExecOutcome, String>) {
    let mut task = tokio::spawn(async move {
        let r = session.exec(ExecRequest::new(code).timeout(timeout)).await;
        (session, r)
    });
    // Far past timeout + kill grace: a stalled host driver.
    let guard = timeout + HANG_MARGIN;
    match tokio::time::timeout(guard, &mut task).await {
        Ok(Ok((s, r))) => (Some(s), r.map_err(|e| e.to_string())),
        Ok(Err(e)) => (
            None,
            Err(format!("{HOST_PANIC} in the session driver: {e}")),
        ),
        Err(_) => {
            // Dropping the future drops the session, which removes its container.
            task.abort();
            (
                None,
                Err(format!("{HOST_HUNG}: exec gave no answer in {guard:?}")),
            )
        }
    }
}

async fn run_runtime(
    runtime: &str,
    attacks: &[Attack],
    fx: &Fixture,
    canary: &str,
    marker: &str,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let t0 = Instant::now();
    let host_row = |name: &str, verdict: Verdict, t0: Instant| Row {
        attack: name.to_string(),
        category: Category::Host,
        runtime: runtime.to_string(),
        verdict,
        millis: t0.elapsed().as_millis(),
    };
    let config = match config_for(runtime) {
        Ok(c) => c,
        Err(e) => return vec![host_row("host.config", Verdict::Error(e), t0)],
    };
    let sandbox = match DockerSandbox::new(&config).await {
        Ok(s) => s,
        Err(e) => {
            return vec![host_row(
                "host.sandbox",
                Verdict::Error(format!("cannot create the {runtime} sandbox: {e}")),
                t0,
            )]
        }
    };
    let sc = &config.sandbox;
    let env = Env {
        runtime: runtime.to_string(),
        gvisor: sandbox.runtime().is_gvisor,
        host_kernel: rlm_runtime::host_kernel(),
        host_proc_version: read_trim("/proc/version"),
        host_hostname: read_trim("/proc/sys/kernel/hostname"),
        host_boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
        canary: canary.to_string(),
        context_secret: fx.context_secret.clone(),
        host_secret: fx.host_secret.clone(),
        max_capture: usize::try_from(sc.max_capture_bytes.bytes()).unwrap_or(usize::MAX),
        pids_limit: u64::from(sc.pids_limit),
        nofile_limit: u64::from(sc.nofile_limit),
        disk_limit: sc.tmpfs_size.bytes().max(sc.fsize_limit.bytes()),
        marker: marker.to_string(),
        image_env_keys: image_env_keys(&sc.docker_image).await,
    };
    let bench = Bench {
        runtime: runtime.to_string(),
        sandbox,
        context: fx.context.clone(),
        env,
        containers: std::sync::Mutex::new(Vec::new()),
    };

    // The cheap attacks share one session, in catalogue order.
    let calls = Arc::new(AtomicUsize::new(0));
    let mut shared: Option<Box<dyn Session>> = None;
    for a in attacks.iter().filter(|a| !a.fresh) {
        let t = Instant::now();
        if !shared.as_ref().is_some_and(|s| s.is_alive()) {
            if let Some(s) = shared.take() {
                s.close().await;
            }
            match bench.start(calls.clone()).await {
                Ok(s) => shared = Some(s),
                Err(e) => {
                    rows.push(bench.row(a, Verdict::Error(e), t));
                    continue;
                }
            }
        }
        let Some(s) = shared.take() else { continue };
        let before = calls.load(Ordering::SeqCst);
        let t1 = Instant::now();
        let (s, outcome) = exec_guarded(s, a.code.clone(), a.timeout.unwrap_or(CELL_TIMEOUT)).await;
        let elapsed = t1.elapsed();
        let (s, followup) = run_followup(s, a).await;
        let run = Run {
            outcome,
            elapsed,
            followup,
            alive: s.as_ref().is_some_and(|s| s.is_alive()),
            calls: calls.load(Ordering::SeqCst) - before,
            container_removed: None,
            stray_processes: None,
        };
        if !run.alive {
            eprintln!(
                "  [{runtime}] {}: the shared session died; starting another",
                a.name
            );
        }
        shared = s;
        let verdict = (a.judge)(&bench.env, &run);
        progress(runtime, a.name, &verdict);
        rows.push(bench.row(a, verdict, t));
    }
    if let Some(s) = shared.take() {
        s.close().await;
    }

    // The destructive ones get a session each, a few at a time.
    let fresh: Vec<&Attack> = attacks.iter().filter(|a| a.fresh).collect();
    let mut results = futures_util::stream::iter(fresh.into_iter().map(|a| bench.run_fresh(a)))
        .buffer_unordered(FRESH_PARALLEL);
    while let Some(row) = results.next().await {
        progress(runtime, &row.attack, &row.verdict);
        rows.push(row);
    }
    drop(results);

    // The host afterwards: still serving, and nothing left behind.
    let t = Instant::now();
    let health = match bench.start(Arc::new(AtomicUsize::new(0))).await {
        Ok(s) => {
            let (s, r) = exec_guarded(s, "print(6 * 7)".to_string(), CELL_TIMEOUT).await;
            if let Some(s) = s {
                s.close().await;
            }
            match r {
                Ok(o) if o.stdout.trim() == "42" => {
                    Verdict::Blocked("a new session starts and computes after every attack".into())
                }
                Ok(o) => Verdict::Error(model::describe(&o)),
                Err(e) => Verdict::Error(e),
            }
        }
        Err(e) => Verdict::Error(e),
    };
    rows.push(host_row("host.still-serving", health, t));
    let t = Instant::now();
    let ids = bench
        .containers
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    let mut left = Vec::new();
    for id in &ids {
        if !container_gone(id).await {
            left.push(id.chars().take(12).collect::<String>());
        }
    }
    let cleanup = if left.is_empty() {
        Verdict::Blocked(format!("all {} session containers removed", ids.len()))
    } else {
        Verdict::Escaped(format!("containers left running: {left:?}"))
    };
    rows.push(host_row("host.containers-removed", cleanup, t));
    eprintln!("  [{runtime}] done in {:.1}s", t0.elapsed().as_secs_f64());
    rows
}

fn progress(runtime: &str, name: &str, v: &Verdict) {
    if matches!(v, Verdict::Escaped(_) | Verdict::Error(_)) {
        eprintln!(
            "  [{runtime}] {name}: {} {}",
            v.label(),
            short(v.detail(), 200)
        );
    }
}

async fn run(opts: Options, canary: String) -> ExitCode {
    let fx = match fixture() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("security: cannot write the fixture files: {e}");
            return ExitCode::FAILURE;
        }
    };
    let marker = format!("rlm-security-marker-{}", random_hex(8));
    let mut attacks = attacks::catalogue(&marker);
    if let Some(only) = &opts.only {
        attacks.retain(|a| a.name.contains(only.as_str()));
    }
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for rt in &opts.runtimes {
        eprintln!("security: {} attacks under {rt}…", attacks.len());
        rows.extend(run_runtime(rt, &attacks, &fx, &canary, &marker).await);
    }
    let wall = t0.elapsed();
    report(&opts, &rows, attacks.len(), wall)
}

fn report(opts: &Options, rows: &[Row], n_attacks: usize, wall: Duration) -> ExitCode {
    let escapes = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Escaped(_)))
        .count();
    let errors = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Error(_)))
        .count();
    let infos = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Info(_)))
        .count();
    let attack_rows = rows.iter().filter(|r| r.category != Category::Host).count();
    let summary = format!(
        "security: {n_attacks} attacks x {} runtimes = {attack_rows} runs, {escapes} escapes, {errors} errors, {infos} info ({:.0}s)",
        opts.runtimes.len(),
        wall.as_secs_f64()
    );
    if opts.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "attack": r.attack,
                    "category": r.category.name(),
                    "runtime": r.runtime,
                    "verdict": r.verdict.label().to_ascii_lowercase(),
                    "detail": r.verdict.detail(),
                    "millis": r.millis,
                })
            })
            .collect();
        let mut per_runtime = serde_json::Map::new();
        for rt in &opts.runtimes {
            let of = |f: fn(&Verdict) -> bool| {
                rows.iter()
                    .filter(|r| &r.runtime == rt && f(&r.verdict))
                    .count()
            };
            per_runtime.insert(
                rt.clone(),
                json!({
                    "blocked": of(|v| matches!(v, Verdict::Blocked(_))),
                    "info": of(|v| matches!(v, Verdict::Info(_))),
                    "escaped": of(|v| matches!(v, Verdict::Escaped(_))),
                    "error": of(|v| matches!(v, Verdict::Error(_))),
                }),
            );
        }
        let doc = json!({
            "attacks": n_attacks,
            "runtimes": opts.runtimes,
            "escapes": escapes,
            "errors": errors,
            "info": infos,
            "wall_seconds": wall.as_secs_f64(),
            "per_runtime": per_runtime,
            "results": list,
            "summary": summary,
        });
        match serde_json::to_string_pretty(&doc) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("security: cannot encode the report: {e}"),
        }
    } else {
        let w = rows
            .iter()
            .map(|r| r.attack.len())
            .max()
            .unwrap_or(6)
            .max(6);
        println!(
            "{:<w$}  {:<12}  {:<7}  {:<8}  detail",
            "attack", "category", "runtime", "verdict"
        );
        println!("{}", "-".repeat(w + 110));
        for r in rows {
            println!(
                "{:<w$}  {:<12}  {:<7}  {:<8}  {}",
                r.attack,
                r.category.name(),
                r.runtime,
                r.verdict.label(),
                short(r.verdict.detail(), 140)
            );
        }
        for rt in &opts.runtimes {
            let of = |f: fn(&Verdict) -> bool| {
                rows.iter()
                    .filter(|r| &r.runtime == rt && r.category != Category::Host && f(&r.verdict))
                    .count()
            };
            println!(
                "{rt}: {} blocked, {} info, {} escaped, {} errors",
                of(|v| matches!(v, Verdict::Blocked(_))),
                of(|v| matches!(v, Verdict::Info(_))),
                of(|v| matches!(v, Verdict::Escaped(_))),
                of(|v| matches!(v, Verdict::Error(_))),
            );
        }
        println!("{summary}");
    }
    if escapes > 0 || errors > 0 {
        eprintln!("security: FAILED ({escapes} escapes, {errors} harness errors)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("security: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    let canary = format!("CANARY-{}", random_hex(16));
    // Set before any thread exists: the sandbox must never see it.
    std::env::set_var(CANARY_VAR, &canary);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("security: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(opts, canary))
}

//! `rlm doctor`: can the configured profile run on this host, and if not,
//! what to fix.

use std::io::Write;

use rlm_config::{ConfigLoader, ExecutionMode};
use rlm_runtime::{resolve_runtime, DockerHost};
use serde_json::json;

use crate::exit;

/// Options of `rlm doctor`.
#[derive(clap::Args)]
pub(crate) struct DoctorArgs {
    /// Also remove orphaned sandboxes (containers whose owner is gone, and
    /// runsc processes Docker no longer lists).
    #[arg(long)]
    reap: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

/// One line of the report.
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

pub(crate) async fn run(args: &DoctorArgs, loader: ConfigLoader) -> i32 {
    let loaded = match loader.load() {
        Ok(l) => l,
        Err(e) => return exit::config_error(&e),
    };
    let config = &loaded.config;
    let mut checks = Vec::new();
    checks.push(Check::pass(
        "configuration",
        format!("valid, profile {}", config.general.profile),
    ));

    let local = config.sandbox.execution_mode == ExecutionMode::Local;
    if local {
        checks.push(Check::pass(
            "execution",
            "local mode (development profile): model code runs on this host UNISOLATED",
        ));
    }

    let mut reap_report = None;
    match DockerHost::connect().await {
        Err(e) => checks.push(Check::fail(
            "docker",
            format!("not reachable: {e}"),
            "run `cargo xtask setup` (installs Docker and gVisor and starts dockerd)",
        )),
        Ok(host) => {
            match host.version().await {
                Ok((server, api)) => checks.push(Check::pass(
                    "docker",
                    format!("engine {server}, API {api} at {}", host.endpoint()),
                )),
                Err(e) => checks.push(Check::fail("docker", e.to_string(), "check dockerd's log")),
            }
            let runtimes = host.runtimes().await.unwrap_or_default();
            let listed: Vec<String> = runtimes
                .iter()
                .map(|r| {
                    let tag = if r.is_gvisor { " [gVisor]" } else { "" };
                    format!(
                        "{} ({}{}{tag})",
                        r.name,
                        r.path,
                        if r.args.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", r.args.join(" "))
                        }
                    )
                })
                .collect();
            checks.push(Check::pass("runtimes", listed.join(", ")));

            let image = &config.sandbox.docker_image;
            match host.image(image).await {
                Ok(Some(info)) => checks.push(Check::pass(
                    "image",
                    format!("{image} ({} MB)", info.size / 1_000_000),
                )),
                Ok(None) => checks.push(Check::fail(
                    "image",
                    format!("{image} is not on this host"),
                    "run `cargo xtask setup` to build rlm-sandbox:bookworm, or set RLM_DOCKER_IMAGE to an image with python3",
                )),
                Err(e) => checks.push(Check::fail("image", e.to_string(), "check dockerd")),
            }

            // The probes say whether each runtime really isolates.
            for r in runtimes.iter().filter(|r| r.is_gvisor) {
                match host.probe(&r.name, image).await {
                    Ok(p) if p.is_gvisor => checks.push(Check::pass(
                        "gvisor probe",
                        format!(
                            "{} isolates: the sandbox sees kernel {} (host {})",
                            r.name, p.kernel_release, p.host_kernel
                        ),
                    )),
                    Ok(p) => checks.push(Check::fail(
                        "gvisor probe",
                        format!(
                            "{} reports the host kernel {}: not isolating",
                            r.name, p.kernel_release
                        ),
                        "check the runsc entry in /etc/docker/daemon.json",
                    )),
                    Err(e) => checks.push(Check::fail(
                        "gvisor probe",
                        format!("{}: {e}", r.name),
                        "run `cargo xtask setup` (registers runsc with --network=none)",
                    )),
                }
            }

            if !local {
                match resolve_runtime(&config.sandbox, &config.general, &runtimes) {
                    Ok(chosen) => checks.push(Check::pass("runtime choice", chosen.reason)),
                    Err(e) => checks.push(Check::fail(
                        "runtime choice",
                        e.to_string(),
                        "install gVisor with `cargo xtask setup`, or choose RLM_PROFILE=standard to accept runc",
                    )),
                }
            }

            if args.reap {
                let report = host.reap_orphans().await;
                checks.push(Check {
                    name: "reap",
                    ok: report.errors.is_empty(),
                    detail: format!(
                        "removed {} orphaned container(s), killed {} leftover runtime process(es), kept {} live",
                        report.removed.len(),
                        report.killed_processes.len(),
                        report.kept
                    ),
                    fix: (!report.errors.is_empty()).then(|| report.errors.join("; ")),
                });
                reap_report = Some(report);
            }
        }
    }

    // In local mode Docker is informational: only the configuration matters.
    let can_run = if local {
        true
    } else {
        checks.iter().all(|c| c.ok)
    };

    let mut out = std::io::stdout().lock();
    if args.json {
        let value = json!({
            "ok": can_run,
            "profile": config.general.profile.as_str(),
            "checks": checks.iter().map(|c| json!({"check": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix})).collect::<Vec<_>>(),
            "config": loaded.describe().into_iter().map(|(k, v, o)| json!({"key": k, "value": v, "source": o.to_string()})).collect::<Vec<_>>(),
            "warnings": loaded.warnings,
            "reaped": reap_report.map(|r| r.removed.len()),
        });
        let _ = writeln!(out, "{value}");
    } else {
        for c in &checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let _ = writeln!(out, "[{mark}] {:<15} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "       fix: {fix}");
            }
        }
        for w in &loaded.warnings {
            let _ = writeln!(out, "[warn] {w}");
        }
        let _ = writeln!(out, "\neffective configuration:");
        for (key, value, origin) in loaded.describe() {
            let _ = writeln!(out, "  {key:<38} {value:<28} ({origin})");
        }
        let verdict = if can_run {
            format!(
                "\nrlm doctor: profile {} can run here",
                config.general.profile
            )
        } else {
            format!(
                "\nrlm doctor: profile {} cannot run here; see the fixes above",
                config.general.profile
            )
        };
        let _ = writeln!(out, "{verdict}");
    }
    if can_run {
        exit::OK
    } else {
        1
    }
}

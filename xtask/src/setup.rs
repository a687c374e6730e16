//! `cargo xtask setup`: turn a bare Debian machine into an rlm sandbox host.
//!
//! Each step checks before it acts, so a second run with nothing to do only
//! looks. Where a step cannot be done here (not root, not Debian, no apt), it
//! stops and says exactly what to do by hand.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::cmd::{self, capture, has, output};
use crate::image;

/// Where the daemon config lives.
const DAEMON_JSON: &str = "/etc/docker/daemon.json";
/// Where the daemon we start writes its log.
pub(crate) const DOCKERD_LOG: &str = "/var/log/rlm-dockerd.log";
/// The runtime argument without which runsc fails here: "cannot run with
/// network enabled in root network namespace".
const RUNSC_ARGS: &[&str] = &["--network=none"];

/// Options of `cargo xtask setup`.
#[derive(clap::Args, Default)]
pub(crate) struct SetupArgs {
    /// Skip building the sandbox image.
    #[arg(long)]
    pub(crate) skip_image: bool,
    /// Rebuild the sandbox image even if its recipe is unchanged.
    #[arg(long)]
    pub(crate) rebuild_image: bool,
    /// Skip the runc/runsc probe containers.
    #[arg(long)]
    pub(crate) skip_verify: bool,
}

pub(crate) fn run(args: &SetupArgs) -> Result<()> {
    let started = Instant::now();
    step("platform", check_platform)?;
    step("packages", install_packages)?;
    step("gVisor runtime", register_runsc)?;
    step("docker daemon", ensure_daemon)?;
    if !args.skip_image {
        step("sandbox image", || image::ensure(args.rebuild_image))?;
    }
    if !args.skip_verify {
        step("verify", verify)?;
    }
    println!(
        "setup: done in {:.1}s — the sandbox host is ready (`rlm doctor` shows it)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<String>) -> Result<()> {
    let t = Instant::now();
    let what = f().with_context(|| format!("setup step `{name}` failed"))?;
    println!(
        "setup: {name:<15} {what} ({:.1}s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|u| u == "0")
}

fn check_platform() -> Result<String> {
    if !cfg!(target_os = "linux") {
        bail!("rlm's sandbox host needs Linux (Docker with gVisor). On this OS, run rlm inside a Linux VM.");
    }
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let debian = os
        .lines()
        .any(|l| l == "ID=debian" || (l.starts_with("ID_LIKE=") && l.contains("debian")));
    let needs_install = !has("dockerd") || !has("runsc") || !has("debootstrap");
    if needs_install && !debian {
        bail!(
            "this is not Debian, so setup cannot install packages itself. By hand: install Docker \
             and gVisor (runsc) with your package manager, and debootstrap; then run \
             `cargo xtask setup` again to register runsc and build the image"
        );
    }
    if !is_root() {
        bail!(
            "setup must run as root (it installs packages, writes {DAEMON_JSON} and starts dockerd). \
             Run `sudo -E cargo xtask setup`, or by hand as root: `apt-get install -y docker.io runsc \
             debootstrap`, add runtime `runsc` with runtimeArgs [\"--network=none\"] to {DAEMON_JSON}, \
             start dockerd, then run `cargo xtask setup` again"
        );
    }
    Ok(if debian {
        "Debian, root".into()
    } else {
        "root".into()
    })
}

fn install_packages() -> Result<String> {
    let missing: Vec<&str> = [
        ("dockerd", "docker.io"),
        ("runsc", "runsc"),
        ("debootstrap", "debootstrap"),
    ]
    .into_iter()
    .filter(|(bin, _)| !has(bin))
    .map(|(_, pkg)| pkg)
    .collect();
    if missing.is_empty() {
        return Ok("docker.io, runsc, debootstrap present".into());
    }
    if !has("apt-get") {
        bail!(
            "missing {} and no apt-get here: install them by hand",
            missing.join(", ")
        );
    }
    // Without systemd, package scripts must not try to start services:
    // policy-rc.d exit 101 tells invoke-rc.d "not now"; dockerd is started
    // by the next step, under our control.
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let wrote_policy = if policy.exists() {
        false
    } else {
        fs::write(policy, "#!/bin/sh\nexit 101\n")?;
        cmd::run("chmod", &["755", "/usr/sbin/policy-rc.d"])?;
        true
    };
    let result = (|| {
        cmd::run("apt-get", &["update", "-qq"])?;
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend(&missing);
        let status = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!(
                "`apt-get {}` failed: fix apt (see its output above) and run setup again",
                args.join(" ")
            );
        }
        Ok(())
    })();
    if wrote_policy {
        let _ = fs::remove_file(policy);
    }
    result?;
    Ok(format!("installed {}", missing.join(", ")))
}

fn register_runsc() -> Result<String> {
    let runsc = cmd::which("runsc").ok_or_else(|| anyhow!("runsc is not on PATH after install"))?;
    let mut config: Value = match fs::read_to_string(DAEMON_JSON) {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text)
            .with_context(|| format!("{DAEMON_JSON} is not valid JSON: fix or remove it"))?,
        _ => json!({}),
    };
    let wanted = json!({
        "path": runsc.display().to_string(),
        "runtimeArgs": RUNSC_ARGS,
    });
    let obj = config
        .as_object_mut()
        .ok_or_else(|| anyhow!("{DAEMON_JSON} must hold a JSON object"))?;
    let runtimes = obj.entry("runtimes").or_insert_with(|| json!({}));
    let runtimes = runtimes
        .as_object_mut()
        .ok_or_else(|| anyhow!("\"runtimes\" in {DAEMON_JSON} must be an object"))?;
    if runtimes.get("runsc") == Some(&wanted) {
        return Ok(format!("runsc registered ({})", runsc.display()));
    }
    runtimes.insert("runsc".into(), wanted);
    fs::create_dir_all("/etc/docker")?;
    let tmp = format!("{DAEMON_JSON}.rlm-tmp");
    fs::write(&tmp, serde_json::to_string_pretty(&config)? + "\n")?;
    fs::rename(&tmp, DAEMON_JSON)?;
    // A running daemon reloads "runtimes" on SIGHUP.
    if let Some(pid) = output("pidof", &["dockerd"]) {
        for p in pid.split_whitespace() {
            let _ = cmd::capture("kill", &["-HUP", p]);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(format!(
        "registered runsc {} with --network=none in {DAEMON_JSON}",
        runsc.display()
    ))
}

fn daemon_answers() -> bool {
    output("docker", &["version", "--format", "{{.Server.Version}}"]).is_some_and(|v| !v.is_empty())
}

fn ensure_daemon() -> Result<String> {
    if daemon_answers() {
        let v =
            output("docker", &["version", "--format", "{{.Server.Version}}"]).unwrap_or_default();
        return Ok(format!("dockerd {v} answers"));
    }
    let dockerd = cmd::which("dockerd").ok_or_else(|| anyhow!("dockerd is not installed"))?;
    // A stale pid file from a daemon that died would stop a new one.
    if output("pidof", &["dockerd"]).is_none() {
        let _ = fs::remove_file("/var/run/docker.pid");
    }
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(DOCKERD_LOG)
        .with_context(|| format!("cannot open {DOCKERD_LOG}"))?;
    let log2 = log.try_clone()?;
    use std::os::unix::process::CommandExt;
    // Its own process group: the daemon outlives this command and is not
    // hit by a Ctrl-C meant for it.
    Command::new(&dockerd)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .spawn()
        .context("cannot start dockerd")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if daemon_answers() {
            let v = output("docker", &["version", "--format", "{{.Server.Version}}"])
                .unwrap_or_default();
            return Ok(format!(
                "started dockerd {v} in the background; log: {DOCKERD_LOG}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let tail = fs::read_to_string(DOCKERD_LOG).unwrap_or_default();
    let tail: Vec<&str> = tail.lines().rev().take(15).collect();
    bail!(
        "dockerd did not answer within 60 s; its log ({DOCKERD_LOG}) ends with:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}

/// The kernel release a container sees under `runtime`.
fn probe_kernel(runtime: &str, image: &str) -> Result<String> {
    let (ok, out, err) = capture(
        "docker",
        &[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "--network",
            "none",
            "--user",
            "65534:65534",
            image,
            "python3",
            "-c",
            "import platform; print(platform.release())",
        ],
    )?;
    if !ok {
        bail!("a probe container under {runtime} failed: {err}");
    }
    Ok(out)
}

fn verify() -> Result<String> {
    let image = image::reference();
    let host = output("uname", &["-r"]).unwrap_or_default();
    let runc = probe_kernel("runc", &image)?;
    let runsc = probe_kernel("runsc", &image)?;
    if runc != host {
        bail!("runc probe reports kernel {runc}, host is {host}: unexpected");
    }
    if runsc == host {
        bail!(
            "the runsc probe reports the host's kernel ({host}): runsc is not isolating. Check the \
             runsc entry in {DAEMON_JSON} and `docker info`"
        );
    }
    Ok(format!(
        "runc sees host kernel {host}; runsc sees gVisor's {runsc}"
    ))
}

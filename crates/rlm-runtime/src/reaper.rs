//! Removes what a dead owner left behind: labelled containers whose owner
//! process is gone, and runtime processes (runsc sandbox, gofer,
//! containerd shim) of containers Docker no longer knows, which a failed
//! runsc start leaves running and `docker ps` does not show.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};

use crate::error::RuntimeError;
use crate::host::DockerHost;
use crate::owner::{Owner, LABEL_OWNER_PID, LABEL_SESSION};

/// What a reap did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReapReport {
    /// Containers removed (id, session label).
    pub removed: Vec<(String, String)>,
    /// Labelled containers left alone because their owner is alive.
    pub kept: usize,
    /// Leftover runtime processes killed (pid, container id).
    pub killed_processes: Vec<(u32, String)>,
    /// What could not be done.
    pub errors: Vec<String>,
}

/// Connects to Docker and reaps orphans (for `rlm doctor --reap`).
pub async fn reap_orphans() -> Result<ReapReport, RuntimeError> {
    Ok(DockerHost::connect().await?.reap_orphans().await)
}

/// For a process on its way out (an interrupted command): stops this
/// process from starting any more sandboxes, waits (up to 10 s) for
/// container creations already sent to Docker, then removes every sandbox
/// this process owns. Later starts fail with [`RuntimeError::ShuttingDown`].
/// Returns how many were removed.
pub async fn remove_own_sandboxes() -> Result<usize, RuntimeError> {
    crate::launches::close();
    crate::launches::settle(SETTLE_LIMIT).await;
    Ok(DockerHost::connect().await?.remove_own_sandboxes().await)
}

/// How long an exit waits for creations in flight.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);
/// Sweeps of one's own containers before giving up on a stubborn one.
const SWEEP_ROUNDS: u32 = 5;

impl DockerHost {
    /// Removes every sandbox container labelled with this process as its
    /// owner, sweeping again while any is left (one being started can
    /// refuse removal for a moment). Returns how many were removed. Unlike
    /// [`remove_own_sandboxes`] it neither stops new launches nor waits for
    /// creations in flight.
    pub async fn remove_own_sandboxes(&self) -> usize {
        let mine = format!("{LABEL_OWNER_PID}={}", std::process::id());
        let mut filters = HashMap::new();
        filters.insert("label", vec![mine.as_str()]);
        let mut removed = 0;
        for round in 1..=SWEEP_ROUNDS {
            let Ok(list) = self
                .client()
                .list_containers(Some(
                    ListContainersOptionsBuilder::new()
                        .all(true)
                        .filters(&filters)
                        .build(),
                ))
                .await
            else {
                break;
            };
            if list.is_empty() {
                break;
            }
            let mut refused = false;
            for id in list.into_iter().filter_map(|c| c.id) {
                let gone = self
                    .client()
                    .remove_container(
                        &id,
                        Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                    )
                    .await;
                match gone {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        refused = true;
                        tracing::debug!(container = %id, error = %e, round, "own sandbox not removed yet")
                    }
                }
            }
            if refused {
                tokio::time::sleep(Duration::from_millis(100 * u64::from(round))).await;
            }
        }
        removed
    }

    /// Removes labelled containers whose owner process is gone (pid dead,
    /// pid recycled, or another boot), then kills runtime processes of
    /// containers Docker no longer knows.
    pub async fn reap_orphans(&self) -> ReapReport {
        let mut report = ReapReport::default();
        let mut filters = HashMap::new();
        filters.insert("label", vec![LABEL_SESSION]);
        let list = self
            .client()
            .list_containers(Some(
                ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await;
        match list {
            Ok(containers) => {
                for c in containers {
                    let labels = c.labels.unwrap_or_default();
                    let Some(id) = c.id else { continue };
                    if Owner::label_owner_alive(&labels) {
                        report.kept += 1;
                        continue;
                    }
                    let session = labels.get(LABEL_SESSION).cloned().unwrap_or_default();
                    match self
                        .client()
                        .remove_container(
                            &id,
                            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                        )
                        .await
                    {
                        Ok(()) => {
                            tracing::info!(container = %id, %session, "reaped orphan sandbox");
                            report.removed.push((id, session));
                        }
                        Err(e) => report.errors.push(format!("remove {id}: {e}")),
                    }
                }
            }
            Err(e) => report.errors.push(format!("list containers: {e}")),
        }
        for (pid, id) in runtime_processes() {
            let gone = matches!(
                self.client().inspect_container(&id, None).await,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                })
            );
            if gone && kill(pid) {
                tracing::info!(pid, container = %id, "killed leftover runtime process");
                report.killed_processes.push((pid, id));
            }
        }
        report
    }
}

/// Docker-managed runtime processes (runsc, gofer, containerd shim) and
/// the container id in their command line.
fn runtime_processes() -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        // Only Docker's containers (the "moby" namespace), only runtime
        // processes: nothing else on a shared host is touched.
        if !cmd.contains("moby") || !(cmd.contains("runsc") || cmd.contains("containerd-shim")) {
            continue;
        }
        if let Some(id) = cmd
            .split(|c: char| !c.is_ascii_hexdigit())
            .find(|t| t.len() == 64)
        {
            out.push((pid, id.to_string()));
        }
    }
    out
}

/// Kills every process whose command line names container `id`: the
/// runsc sandbox, gofer and shim a failed start leaves behind.
pub(crate) fn kill_runtime_leftovers(id: &str) -> Vec<u32> {
    let mut killed = Vec::new();
    if id.len() < 12 {
        return killed;
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return killed;
    };
    let me = std::process::id();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&raw).contains(id) && kill(pid) {
            tracing::info!(pid, container = %id, "killed runtime process of a failed start");
            killed.push(pid);
        }
    }
    killed
}

fn kill(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(raw),
        nix::sys::signal::Signal::SIGKILL,
    )
    .is_ok()
}

//! The Docker backend: one hardened container per session, its agent on
//! the container's attached stdio.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use rlm_config::{Config, ExecutionMode, SandboxConfig};

use crate::choose::{resolve_runtime, ChosenRuntime};
use crate::error::RuntimeError;
use crate::hardening::{container_body, sandbox_cmd, ContextMount, CONTEXT_MOUNT};
use crate::host::{host_kernel, DockerHost};
use crate::owner::Owner;
use crate::session::{
    new_session_id, AgentSession, Backend, Chunk, Death, Limits, Sandbox, Session, SessionInfo,
    SessionRequest, Transport,
};

/// Starts hardened Docker sessions under the runtime chosen from the
/// configuration (gVisor first, fail-closed; see [`resolve_runtime`]).
#[derive(Debug, Clone)]
pub struct DockerSandbox {
    host: DockerHost,
    config: SandboxConfig,
    runtime: ChosenRuntime,
    limits: Limits,
}

impl DockerSandbox {
    /// Connects to Docker, chooses the runtime, checks the image is present
    /// and reaps orphans of dead owners.
    pub async fn new(config: &Config) -> Result<DockerSandbox, RuntimeError> {
        let host = DockerHost::connect().await?;
        DockerSandbox::with_host(host, config).await
    }

    /// The same over an existing connection.
    pub async fn with_host(
        host: DockerHost,
        config: &Config,
    ) -> Result<DockerSandbox, RuntimeError> {
        if config.sandbox.execution_mode != ExecutionMode::Docker {
            return Err(RuntimeError::Config(
                "execution_mode is local: use LocalSandbox (development profile only)".to_string(),
            ));
        }
        let runtimes = host.runtimes().await?;
        let runtime = resolve_runtime(&config.sandbox, &config.general, &runtimes)?;
        if host.image(&config.sandbox.docker_image).await?.is_none() {
            return Err(RuntimeError::ImageMissing {
                image: config.sandbox.docker_image.clone(),
            });
        }
        let report = host.reap_orphans().await;
        if !report.removed.is_empty() || !report.killed_processes.is_empty() {
            tracing::info!(
                removed = report.removed.len(),
                killed = report.killed_processes.len(),
                "reaped orphaned sandboxes"
            );
        }
        tracing::info!(runtime = %runtime.name, reason = %runtime.reason, "docker sandbox ready");
        Ok(DockerSandbox {
            host,
            limits: Limits::from_config(&config.sandbox),
            config: config.sandbox.clone(),
            runtime,
        })
    }

    /// The runtime sessions are created with.
    pub fn runtime(&self) -> &ChosenRuntime {
        &self.runtime
    }

    /// The Docker connection.
    pub fn host(&self) -> &DockerHost {
        &self.host
    }

    /// The sandbox settings in force.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Creates, attaches, starts and boots a container (agent up, hello
    /// verified), without setting up its namespace.
    pub(crate) async fn launch(
        &self,
        mount: ContextMount<'_>,
        temp_dir: Option<PathBuf>,
        kind: &str,
    ) -> Result<AgentSession<DockerBackend>, RuntimeError> {
        let t0 = Instant::now();
        let id = new_session_id();
        let span =
            tracing::info_span!("sandbox_start", session = %id, runtime = %self.runtime.name);
        let _enter = span.enter();
        let docker = self.host.client().clone();
        let body = container_body(
            &self.config,
            &self.config.docker_image,
            &self.runtime.name,
            sandbox_cmd(),
            Owner::current().labels(&id, kind),
            mount,
            true,
        );
        let mut guard = create(&docker, &id, body, temp_dir).await?;
        let backend = guard.backend.clone();
        let container = backend.id.clone();
        let attach = docker
            .attach_container(
                &container,
                Some(
                    AttachContainerOptionsBuilder::new()
                        .stream(true)
                        .stdin(true)
                        .stdout(true)
                        .stderr(true)
                        .logs(false)
                        .build(),
                ),
            )
            .await;
        let attach = match attach {
            Ok(a) => a,
            Err(e) => {
                guard.disarm();
                backend.destroy_failed().await;
                return Err(RuntimeError::docker("attach", e));
            }
        };
        if let Err(e) = docker
            .start_container(&container, None::<StartContainerOptions>)
            .await
        {
            guard.disarm();
            backend.destroy_failed().await;
            return Err(RuntimeError::StartFailed {
                detail: format!("docker start under runtime {}: {e}", self.runtime.name),
                diagnostics: String::new(),
            });
        }
        let output = attach.output.filter_map(|item| async move {
            match item {
                Ok(LogOutput::StdOut { message }) => Some(Chunk::Out(message.to_vec())),
                Ok(LogOutput::StdErr { message }) => Some(Chunk::Err(message.to_vec())),
                Ok(_) => None,
                // A broken attach stream is the end of the session.
                Err(_) => None,
            }
        });
        let transport = Transport {
            writer: attach.input,
            output: Box::pin(output),
        };
        let host_kernel = host_kernel();
        let info = SessionInfo {
            id: id.clone(),
            backend: "docker".to_string(),
            container_id: Some(container.clone()),
            runtime: self.runtime.name.clone(),
            is_gvisor: false,
            kernel_release: String::new(),
            host_kernel: host_kernel.clone(),
            python: String::new(),
            start_time: Duration::ZERO,
        };
        // `boot` owns the backend now: it removes the container on failure,
        // and the session (or its drop) does afterwards.
        let booted = AgentSession::boot(transport, backend, self.limits, info).await;
        guard.disarm();
        let mut session = booted?;
        let kernel = session.info().kernel_release.clone();
        let is_gvisor = kernel != host_kernel;
        if self.runtime.is_gvisor && !is_gvisor {
            let err = RuntimeError::RuntimeMismatch {
                requested: self.runtime.name.clone(),
                kernel,
                host_kernel,
            };
            return Err(session.fail_start(err).await);
        }
        if !is_gvisor {
            tracing::warn!(session = %id, "sandbox runs under runc: the host kernel is the only boundary");
        }
        let info = session.info_mut();
        info.is_gvisor = is_gvisor;
        info.start_time = t0.elapsed();
        tracing::debug!(elapsed = ?t0.elapsed(), "sandbox booted");
        Ok(session)
    }
}

/// Checks that the sandbox user will be able to read `path`, and returns
/// its absolute form.
pub(crate) fn check_context(path: &Path) -> Result<PathBuf, RuntimeError> {
    let err = |problem: String| RuntimeError::Context {
        path: path.display().to_string(),
        problem,
    };
    let abs = std::fs::canonicalize(path).map_err(|e| err(format!("cannot open it: {e}")))?;
    let meta = std::fs::metadata(&abs).map_err(|e| err(format!("cannot open it: {e}")))?;
    if !meta.is_file() {
        return Err(err("is not a regular file".to_string()));
    }
    // The sandbox runs as uid 65534, which owns nothing: only "other"
    // permission bits apply to it.
    if meta.permissions().mode() & 0o004 == 0 && meta.uid() != 65534 {
        return Err(err(
            "is not readable by the sandbox user (uid 65534): make it world-readable (chmod o+r) or copy it somewhere that is"
                .to_string(),
        ));
    }
    Ok(abs)
}

#[async_trait::async_trait]
impl Sandbox for DockerSandbox {
    async fn start(&self, req: SessionRequest) -> Result<Box<dyn Session>, RuntimeError> {
        let t0 = Instant::now();
        let ctx = match &req.context {
            Some(p) => Some(check_context(p)?),
            None => None,
        };
        let mount = match &ctx {
            Some(p) => ContextMount::File(p),
            None => ContextMount::None,
        };
        let mut session = self.launch(mount, None, "session").await?;
        session
            .init(
                ctx.as_ref().map(|_| CONTEXT_MOUNT),
                req.host_calls.clone(),
                &self.config.denied_imports,
            )
            .await?;
        session.info_mut().start_time = t0.elapsed();
        tracing::info!(session = %session.info().id, elapsed = ?t0.elapsed(), gvisor = session.info().is_gvisor, "sandbox session started");
        Ok(Box::new(session))
    }
}

/// Creates the container named `id` in a task of its own, so that the
/// outcome is always known: if the launch is dropped while Docker creates
/// it, the task removes the container once it exists (see `launches.rs`).
pub(crate) async fn create(
    docker: &Docker,
    id: &str,
    body: bollard::models::ContainerCreateBody,
    temp_dir: Option<PathBuf>,
) -> Result<LaunchGuard, RuntimeError> {
    let ticket = crate::launches::ticket().ok_or(RuntimeError::ShuttingDown)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let docker = docker.clone();
    let name = id.to_string();
    tokio::spawn(async move {
        let _ticket = ticket;
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::new().name(&name).build()),
                body,
            )
            .await
            .map(|c| LaunchGuard {
                backend: DockerBackend {
                    docker: docker.clone(),
                    id: c.id,
                    temp_dir,
                },
                armed: true,
            });
        if let Err(Ok(mut unclaimed)) = tx.send(created) {
            unclaimed.armed = false;
            tracing::info!(container = %unclaimed.backend.id, "sandbox start abandoned during create; removing its container");
            unclaimed.backend.destroy().await;
        }
    });
    match rx.await {
        Ok(created) => created.map_err(|e| RuntimeError::docker("create", e)),
        // The task was dropped with the runtime: nothing waits for it.
        Err(_) => Err(RuntimeError::ShuttingDown),
    }
}

/// Owns a created container until its session does: removes it if the
/// launch is abandoned midway (its future dropped by Ctrl-C or a timeout).
pub(crate) struct LaunchGuard {
    backend: DockerBackend,
    armed: bool,
}

impl LaunchGuard {
    /// The container's full id.
    pub(crate) fn id(&self) -> &str {
        &self.backend.id
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Removes the container now, waiting for Docker.
    pub(crate) async fn remove(mut self) {
        self.disarm();
        self.backend.destroy().await;
    }
}

impl Drop for LaunchGuard {
    fn drop(&mut self) {
        if self.armed {
            tracing::info!(container = %self.backend.id, "sandbox start abandoned; removing its container");
            self.backend.destroy_detached();
        }
    }
}

/// How many times a removal is tried (about 1.5 s of back-off in all).
const REMOVE_ATTEMPTS: u32 = 5;

/// One container, as the protocol driver sees it.
#[derive(Clone)]
pub(crate) struct DockerBackend {
    docker: Docker,
    id: String,
    temp_dir: Option<PathBuf>,
}

impl DockerBackend {
    /// Removal after a failed start: runsc leaves its sandbox, gofer and
    /// shim processes behind when a start fails, invisible to `docker ps`.
    async fn destroy_failed(&self) {
        self.destroy().await;
        crate::reaper::kill_runtime_leftovers(&self.id);
    }
}

#[async_trait::async_trait]
impl Backend for DockerBackend {
    async fn kill(&self) {
        let _ = self
            .docker
            .kill_container(
                &self.id,
                Some(KillContainerOptionsBuilder::new().signal("SIGKILL").build()),
            )
            .await;
    }

    async fn death(&self) -> Death {
        // The attach stream can end a moment before Docker records the exit.
        for _ in 0..50 {
            match self.docker.inspect_container(&self.id, None).await {
                Ok(c) => {
                    let st = c.state.unwrap_or_default();
                    if st.running != Some(true) {
                        let exit_code = st.exit_code;
                        return Death {
                            oom: st.oom_killed == Some(true) || exit_code == Some(137),
                            exit_code,
                        };
                    }
                }
                Err(_) => return Death::default(),
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        Death::default()
    }

    async fn destroy(&self) {
        // A container still being started (an abandoned launch) can refuse
        // removal for a moment ("removal already in progress", a kill that
        // races the start): try again briefly before leaving it to the reaper.
        for attempt in 1..=REMOVE_ATTEMPTS {
            let r = self
                .docker
                .remove_container(
                    &self.id,
                    Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                )
                .await;
            match r {
                Ok(()) => {
                    tracing::debug!(container = %self.id, "sandbox removed");
                    break;
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => break,
                Err(e) if attempt < REMOVE_ATTEMPTS => {
                    tracing::debug!(container = %self.id, error = %e, attempt, "sandbox removal refused; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => {
                    tracing::warn!(container = %self.id, error = %e, "could not remove sandbox; `rlm doctor --reap` will")
                }
            }
        }
        if let Some(d) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    fn destroy_detached(&self) {
        let id = self.id.clone();
        let temp_dir = self.temp_dir.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // A thread with its own small runtime: works whatever state the
        // caller's runtime is in (including shutting down) and outside one.
        let spawned = std::thread::Builder::new()
            .name("rlm-sandbox-remove".to_string())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(host) = DockerHost::connect().await {
                            let b = DockerBackend {
                                docker: host.client().clone(),
                                id,
                                temp_dir,
                            };
                            b.destroy().await;
                        }
                    });
                }
                let _ = tx.send(());
            });
        if spawned.is_ok() {
            // Wait (bounded) so a process that exits right after dropping a
            // session does not leave its container behind.
            let _ = rx.recv_timeout(Duration::from_secs(10));
        }
    }
}

//! The Docker host as `rlm doctor` sees it: versions, registered runtimes,
//! images, and a probe that runs a throwaway hardened container to learn
//! which kernel a runtime really gives.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::AttachContainerOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::error::RuntimeError;
use crate::hardening::{container_body, ContextMount};
use crate::owner::Owner;

/// One OCI runtime registered with the Docker daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The name containers ask for (`HostConfig.runtime`).
    pub name: String,
    /// The binary Docker runs for it.
    pub path: String,
    /// Extra arguments Docker passes (`runtimeArgs`).
    pub args: Vec<String>,
    /// Whether the binary is gVisor's `runsc`, judged by the path, not the
    /// name: a runtime named `runsc` that runs something else is not gVisor.
    pub is_gvisor: bool,
}

impl RuntimeInfo {
    /// Describes a runtime; `is_gvisor` is derived from the binary's name.
    pub fn new(name: &str, path: &str, args: Vec<String>) -> RuntimeInfo {
        let base = path.rsplit('/').next().unwrap_or(path);
        RuntimeInfo {
            name: name.to_string(),
            path: path.to_string(),
            args,
            is_gvisor: base == "runsc",
        }
    }
}

/// An image present in the local store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Content id (`sha256:…`).
    pub id: String,
    /// Size in bytes.
    pub size: u64,
    /// Image labels.
    pub labels: HashMap<String, String>,
}

/// What a probe container reported about its runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `uname -r` inside the container.
    pub kernel_release: String,
    /// Whether that differs from the host's kernel (gVisor reports its own,
    /// e.g. `4.4.0`); under runc the host kernel shows through.
    pub is_gvisor: bool,
    /// The host's `uname -r`.
    pub host_kernel: String,
}

/// A connection to the Docker daemon with a negotiated API version.
#[derive(Debug, Clone)]
pub struct DockerHost {
    docker: Docker,
    endpoint: String,
}

/// Where the Docker client connects, for messages.
pub(crate) fn docker_endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "/var/run/docker.sock".to_string())
}

/// The host kernel release (`uname -r`).
pub fn host_kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl DockerHost {
    /// Connects with the local defaults (`DOCKER_HOST` or the Unix socket)
    /// and negotiates the API version with the daemon.
    pub async fn connect() -> Result<DockerHost, RuntimeError> {
        let endpoint = docker_endpoint();
        let unreachable = |e: bollard::errors::Error| RuntimeError::DockerUnreachable {
            endpoint: endpoint.clone(),
            detail: e.to_string(),
        };
        let docker = Docker::connect_with_local_defaults().map_err(unreachable)?;
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| RuntimeError::DockerUnreachable {
                endpoint: endpoint.clone(),
                detail: "no answer within 10s".to_string(),
            })?
            .map_err(unreachable)?;
        Ok(DockerHost { docker, endpoint })
    }

    /// The underlying client.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// Where the client connected.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `(server version, API version)` of the daemon.
    pub async fn version(&self) -> Result<(String, String), RuntimeError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| RuntimeError::docker("version", e))?;
        Ok((
            v.version.unwrap_or_default(),
            v.api_version.unwrap_or_default(),
        ))
    }

    /// The runtimes registered with the daemon, sorted by name.
    pub async fn runtimes(&self) -> Result<Vec<RuntimeInfo>, RuntimeError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| RuntimeError::docker("info", e))?;
        let mut out: Vec<RuntimeInfo> = info
            .runtimes
            .unwrap_or_default()
            .into_iter()
            .map(|(name, r)| {
                RuntimeInfo::new(
                    &name,
                    r.path.as_deref().unwrap_or(""),
                    r.runtime_args.unwrap_or_default(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The image `name` if present locally (never pulled).
    pub async fn image(&self, name: &str) -> Result<Option<ImageInfo>, RuntimeError> {
        match self.docker.inspect_image(name).await {
            Ok(i) => Ok(Some(ImageInfo {
                id: i.id.unwrap_or_default(),
                size: i.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
            })),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(RuntimeError::docker("image inspect", e)),
        }
    }

    /// Runs a hardened throwaway container under `runtime` from `image`
    /// and reports the kernel it saw. The container is removed afterwards,
    /// whatever happens.
    pub async fn probe(&self, runtime: &str, image: &str) -> Result<Probe, RuntimeError> {
        if self.image(image).await?.is_none() {
            return Err(RuntimeError::ImageMissing {
                image: image.to_string(),
            });
        }
        let cfg = rlm_config::Config::defaults()
            .map_err(|e| RuntimeError::Config(e.to_string()))?
            .sandbox;
        let session = format!("probe-{}", crate::owner::new_session_id());
        let body = container_body(
            &cfg,
            image,
            runtime,
            vec![
                "python3".into(),
                "-I".into(),
                "-S".into(),
                "-c".into(),
                "import os;print(os.uname().release)".into(),
            ],
            Owner::current().labels(&session, "probe"),
            ContextMount::None,
            false,
        );
        // Created like a session's container: an abandoned probe is removed.
        let created = crate::docker::create(&self.docker, &session, body, None).await?;
        let id = created.id().to_string();
        let result = self.run_probe(&id).await;
        created.remove().await;
        if result.is_err() {
            crate::reaper::kill_runtime_leftovers(&id);
        }
        result
    }

    async fn run_probe(&self, id: &str) -> Result<Probe, RuntimeError> {
        let attach = self
            .docker
            .attach_container(
                id,
                Some(
                    AttachContainerOptionsBuilder::new()
                        .stream(true)
                        .stdout(true)
                        .stderr(true)
                        .build(),
                ),
            )
            .await
            .map_err(|e| RuntimeError::docker("attach (probe)", e))?;
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(|e| RuntimeError::StartFailed {
                detail: e.to_string(),
                diagnostics: String::new(),
            })?;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut stream = attach.output;
        let read = async {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(bollard::container::LogOutput::StdOut { message }) => {
                        append_capped(&mut out, &message, 4096)
                    }
                    Ok(bollard::container::LogOutput::StdErr { message }) => {
                        append_capped(&mut err, &message, 4096)
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .is_err()
        {
            return Err(RuntimeError::Unresponsive(Duration::from_secs(30)));
        }
        let kernel_release = String::from_utf8_lossy(&out).trim().to_string();
        if kernel_release.is_empty() {
            return Err(RuntimeError::StartFailed {
                detail: "the probe printed nothing".to_string(),
                diagnostics: String::from_utf8_lossy(&err).into_owned(),
            });
        }
        let host_kernel = host_kernel();
        Ok(Probe {
            is_gvisor: kernel_release != host_kernel,
            kernel_release,
            host_kernel,
        })
    }
}

/// Appends at most `cap - buf.len()` bytes.
pub(crate) fn append_capped(buf: &mut Vec<u8>, more: &[u8], cap: usize) {
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(&more[..more.len().min(room)]);
}

//! The local backend: the agent as a plain subprocess with rlimits. No
//! isolation worth the name — development only, and loud about it.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rlm_config::{Config, ExecutionMode, Profile, SandboxConfig};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::error::RuntimeError;
use crate::hardening::BOOTSTRAP;
use crate::host::host_kernel;
use crate::session::{
    new_session_id, AgentSession, Backend, Chunk, Death, Limits, Sandbox, Session, SessionInfo,
    SessionRequest, Transport,
};

/// Runs sessions as local `python3` subprocesses under rlimits. Only under
/// the `development` profile with `execution_mode = local`.
#[derive(Debug, Clone)]
pub struct LocalSandbox {
    config: SandboxConfig,
    limits: Limits,
}

impl LocalSandbox {
    /// Refuses unless the profile is `development` and the mode `local`.
    pub fn new(config: &Config) -> Result<LocalSandbox, RuntimeError> {
        if config.general.profile != Profile::Development
            || config.sandbox.execution_mode != ExecutionMode::Local
        {
            return Err(RuntimeError::Config(
                "local execution needs RLM_PROFILE=development and RLM_EXECUTION_MODE=local: it runs model code on this host with your privileges".to_string(),
            ));
        }
        tracing::warn!("UNSAFE: local execution backend: model code runs on this host with your privileges, no container, no gVisor, no network isolation; development only");
        Ok(LocalSandbox {
            config: config.sandbox.clone(),
            limits: Limits::from_config(&config.sandbox),
        })
    }
}

#[async_trait::async_trait]
impl Sandbox for LocalSandbox {
    async fn start(&self, req: SessionRequest) -> Result<Box<dyn Session>, RuntimeError> {
        let t0 = Instant::now();
        let ctx = match &req.context {
            Some(p) => Some(std::fs::canonicalize(p).map_err(|e| RuntimeError::Context {
                path: p.display().to_string(),
                problem: format!("cannot open it: {e}"),
            })?),
            None => None,
        };
        let ctx_len = ctx
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .unwrap_or(0);
        let c = &self.config;
        // Address space covers the memory limit plus the mapped context.
        let vmem_kib =
            (c.memory_limit.bytes().saturating_add(ctx_len) / 1024).saturating_add(256 * 1024);
        // rlimits set by Python itself before the agent is read: no unsafe
        // pre_exec hook, no shell whose `ulimit` flags differ per system.
        let prelude = format!(
            "import resource as _rs\nfor _n, _v in (('RLIMIT_NOFILE', {}), ('RLIMIT_NPROC', {}), ('RLIMIT_FSIZE', {}), ('RLIMIT_CORE', 0), ('RLIMIT_AS', {})):\n    _rs.setrlimit(getattr(_rs, _n), (_v, _v))\ndel _rs, _n, _v\n",
            c.nofile_limit,
            c.nproc_limit,
            c.fsize_limit.bytes().max(1),
            vmem_kib.saturating_mul(1024),
        );
        let mut child = Command::new("python3")
            .args(["-I", "-S", "-u", "-c"])
            .arg(format!("{prelude}{BOOTSTRAP}"))
            .env_clear()
            .env("LANG", "C.UTF-8")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", std::env::temp_dir())
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RuntimeError::StartFailed {
                detail: format!("cannot run python3 locally: {e}"),
                diagnostics: String::new(),
            })?;
        let (Some(stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(RuntimeError::StartFailed {
                detail: "no stdio pipes".to_string(),
                diagnostics: String::new(),
            });
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(16);
        let tx2 = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = stdout.read(&mut buf).await {
                if n == 0 || tx.send(Chunk::Out(buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 || tx2.send(Chunk::Err(buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        });
        let output =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
            );
        let transport = Transport {
            writer: Box::pin(stdin),
            output: Box::pin(output),
        };
        let kernel = host_kernel();
        let info = SessionInfo {
            id: new_session_id(),
            backend: "local".to_string(),
            container_id: None,
            runtime: "local".to_string(),
            is_gvisor: false,
            kernel_release: String::new(),
            host_kernel: kernel,
            python: String::new(),
            start_time: Duration::ZERO,
        };
        let backend = LocalBackend {
            child: Arc::new(tokio::sync::Mutex::new(child)),
        };
        let mut session = AgentSession::boot(transport, backend, self.limits, info).await?;
        let ctx_str = ctx.as_ref().map(|p| p.to_string_lossy().into_owned());
        session
            .init(
                ctx_str.as_deref(),
                req.host_calls.clone(),
                &self.config.denied_imports,
            )
            .await?;
        session.info_mut().start_time = t0.elapsed();
        Ok(Box::new(session))
    }
}

struct LocalBackend {
    child: Arc<tokio::sync::Mutex<Child>>,
}

#[async_trait::async_trait]
impl Backend for LocalBackend {
    async fn kill(&self) {
        let _ = self.child.lock().await.start_kill();
    }

    async fn death(&self) -> Death {
        let mut child = self.child.lock().await;
        match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
            Ok(Ok(status)) => {
                use std::os::unix::process::ExitStatusExt;
                let code = status
                    .code()
                    .map(i64::from)
                    .or_else(|| status.signal().map(|s| 128 + i64::from(s)));
                Death {
                    oom: false,
                    exit_code: code,
                }
            }
            _ => Death::default(),
        }
    }

    async fn destroy(&self) {
        let mut child = self.child.lock().await;
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    }

    fn destroy_detached(&self) {
        if let Ok(mut child) = self.child.try_lock() {
            let _ = child.start_kill();
        }
    }
}

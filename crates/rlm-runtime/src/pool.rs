//! Warm pool: containers started ahead of time so a session is ready in
//! milliseconds. A pooled container serves exactly one session and is
//! destroyed after it; the pool refills in the background.
//!
//! A container's mounts are fixed when it is created, so a pooled container
//! mounts an empty per-container directory read-only at
//! [`crate::CONTEXT_DIR_MOUNT`]; when the session is taken, the context is
//! hard-linked into it on the host. When that is impossible (the context is
//! on another filesystem) the session is started cold instead.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::docker::{check_context, DockerBackend, DockerSandbox};
use crate::error::RuntimeError;
use crate::hardening::{ContextMount, CONTEXT_DIR_MOUNT};
use crate::session::{AgentSession, Sandbox, Session, SessionRequest};

struct Pooled {
    session: AgentSession<DockerBackend>,
    dir: PathBuf,
}

struct Inner {
    sandbox: DockerSandbox,
    size: usize,
    ready: tokio::sync::Mutex<VecDeque<Pooled>>,
    pending: AtomicUsize,
    closed: AtomicBool,
}

/// A [`Sandbox`] that hands out pre-started Docker sessions.
#[derive(Clone)]
pub struct WarmPool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WarmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmPool")
            .field("size", &self.inner.size)
            .finish()
    }
}

impl WarmPool {
    /// A pool of `size` sessions of `sandbox` (usually `warm_pool_size`).
    /// Filling starts in the background; [`WarmPool::fill`] waits for it.
    pub fn new(sandbox: DockerSandbox, size: usize) -> WarmPool {
        let pool = WarmPool {
            inner: Arc::new(Inner {
                sandbox,
                size,
                ready: tokio::sync::Mutex::new(VecDeque::new()),
                pending: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
            }),
        };
        for _ in 0..size {
            pool.refill();
        }
        pool
    }

    /// Starts pooled containers until `size` are ready (including those
    /// being started in the background).
    pub async fn fill(&self) -> Result<(), RuntimeError> {
        loop {
            let have = self.inner.ready.lock().await.len();
            if have >= self.inner.size || self.inner.closed.load(Ordering::SeqCst) {
                return Ok(());
            }
            if self.inner.pending.load(Ordering::SeqCst) == 0 {
                let p = launch(&self.inner.sandbox).await?;
                self.inner.ready.lock().await.push_back(p);
            } else {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }

    /// Sessions ready right now.
    pub async fn ready(&self) -> usize {
        self.inner.ready.lock().await.len()
    }

    /// Removes every pooled container and stops refilling.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let drained: Vec<Pooled> = self.inner.ready.lock().await.drain(..).collect();
        for mut p in drained {
            p.session.close_inner().await;
        }
    }

    fn refill(&self) {
        let inner = self.inner.clone();
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        inner.pending.fetch_add(1, Ordering::SeqCst);
        handle.spawn(async move {
            let r = launch(&inner.sandbox).await;
            match r {
                Ok(mut p) if !inner.closed.load(Ordering::SeqCst) => {
                    let mut q = inner.ready.lock().await;
                    if q.len() < inner.size {
                        q.push_back(p);
                    } else {
                        drop(q);
                        p.session.close_inner().await;
                    }
                }
                Ok(mut p) => p.session.close_inner().await,
                Err(e) => tracing::warn!(error = %e, "warm pool could not start a sandbox"),
            }
            inner.pending.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn launch(sandbox: &DockerSandbox) -> Result<Pooled, RuntimeError> {
    let dir = std::env::temp_dir().join(format!("rlm-pool-{}", crate::owner::new_session_id()));
    std::fs::create_dir(&dir)?;
    // The sandbox user (65534) must be able to traverse it.
    let _ = std::fs::set_permissions(
        &dir,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    );
    match sandbox
        .launch(ContextMount::Dir(&dir), Some(dir.clone()), "pool")
        .await
    {
        Ok(session) => Ok(Pooled { session, dir }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

#[async_trait::async_trait]
impl Sandbox for WarmPool {
    async fn start(&self, req: SessionRequest) -> Result<Box<dyn Session>, RuntimeError> {
        let t0 = Instant::now();
        let ctx = match &req.context {
            Some(p) => Some(check_context(p)?),
            None => None,
        };
        let taken = self.inner.ready.lock().await.pop_front();
        let Some(mut p) = taken else {
            tracing::debug!("warm pool empty: cold start");
            self.refill();
            return self.inner.sandbox.start(req).await;
        };
        self.refill();
        let ctx_path = match &ctx {
            Some(src) => match std::fs::hard_link(src, p.dir.join("context")) {
                Ok(()) => Some(format!("{CONTEXT_DIR_MOUNT}/context")),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot link the context into a pooled sandbox: cold start");
                    p.session.close_inner().await;
                    return self.inner.sandbox.start(req).await;
                }
            },
            None => None,
        };
        match p
            .session
            .init(
                ctx_path.as_deref(),
                req.host_calls.clone(),
                &self.inner.sandbox.config().denied_imports,
            )
            .await
        {
            Ok(()) => {
                p.session.info_mut().start_time = t0.elapsed();
                Ok(Box::new(p.session))
            }
            Err(e) => {
                // A pooled container that died while waiting: start cold.
                tracing::warn!(error = %e, "pooled sandbox unusable: cold start");
                p.session.close_inner().await;
                self.inner.sandbox.start(req).await
            }
        }
    }
}

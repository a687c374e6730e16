//! The execution port over rlm-runtime: sessions of a
//! [`Sandbox`](rlm_runtime::Sandbox) (Docker + gVisor in production), with
//! the helpers registered as the session's host calls.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use rlm_config::{Config, ExecutionMode};
use rlm_runtime::{ExecRequest, ExecStatus, HostCalls, Sandbox, Session, SessionRequest};
use serde_json::Value;

use crate::error::RunError;
use crate::repl::{
    CellOutput, HostHandler, Repl, ReplError, ReplFactory, ReplSpec, HOST_FUNCTIONS,
};

/// Starts REPLs as rlm-runtime sessions.
#[derive(Clone)]
pub struct RuntimeRepls {
    sandbox: Arc<dyn Sandbox>,
}

impl std::fmt::Debug for RuntimeRepls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeRepls").finish_non_exhaustive()
    }
}

impl RuntimeRepls {
    /// Over any sandbox backend.
    pub fn new(sandbox: Arc<dyn Sandbox>) -> RuntimeRepls {
        RuntimeRepls { sandbox }
    }

    /// The backend the configuration asks for: Docker (gVisor first), or
    /// local execution under the development profile.
    pub async fn from_config(config: &Config) -> Result<RuntimeRepls, RunError> {
        let sandbox: Arc<dyn Sandbox> = match config.sandbox.execution_mode {
            ExecutionMode::Docker => Arc::new(
                rlm_runtime::DockerSandbox::new(config)
                    .await
                    .map_err(runtime_error)?,
            ),
            ExecutionMode::Local => {
                Arc::new(rlm_runtime::LocalSandbox::new(config).map_err(runtime_error)?)
            }
        };
        Ok(RuntimeRepls::new(sandbox))
    }
}

fn runtime_error(e: rlm_runtime::RuntimeError) -> RunError {
    if e.is_unavailable() {
        RunError::SandboxUnavailable(e.to_string())
    } else {
        RunError::Config(e.to_string())
    }
}

/// Forwards the runtime's host calls to the session's helpers.
struct Bridge(Arc<dyn HostHandler>);

#[async_trait::async_trait]
impl HostCalls for Bridge {
    fn names(&self) -> Vec<String> {
        HOST_FUNCTIONS.iter().map(|s| s.to_string()).collect()
    }
    async fn call(&self, name: &str, args: Value) -> Result<Value, String> {
        self.0.call(name, args).await
    }
}

struct RuntimeRepl {
    sandbox: Arc<dyn Sandbox>,
    request: SessionRequest,
    session: Option<Box<dyn Session>>,
}

impl ReplFactory for RuntimeRepls {
    fn start(&self, spec: ReplSpec) -> BoxFuture<'_, Result<Box<dyn Repl>, ReplError>> {
        Box::pin(async move {
            let mut request = SessionRequest::new().host_calls(Arc::new(Bridge(spec.host)));
            if let Some(p) = spec.context_path {
                request = request.context(p);
            }
            let session = self.sandbox.start(request.clone()).await.map_err(|e| {
                if e.is_unavailable() {
                    ReplError::Unavailable(e.to_string())
                } else {
                    ReplError::Failed(e.to_string())
                }
            })?;
            tracing::info!(session = %spec.session, sandbox = %session.info().id, runtime = %session.info().runtime, "sandbox session started");
            let repl: Box<dyn Repl> = Box::new(RuntimeRepl {
                sandbox: Arc::clone(&self.sandbox),
                request,
                session: Some(session),
            });
            Ok(repl)
        })
    }
}

impl Repl for RuntimeRepl {
    fn exec<'a>(&'a mut self, code: &'a str) -> BoxFuture<'a, Result<CellOutput, ReplError>> {
        Box::pin(async move {
            // A session killed by its last cell (out of memory, a timeout
            // past the grace) is replaced, and the model told its variables
            // are gone, rather than ending the run.
            let mut note = String::new();
            let alive = self.session.as_ref().is_some_and(|s| s.is_alive());
            if !alive {
                if let Some(old) = self.session.take() {
                    old.close().await;
                }
                let fresh = self
                    .sandbox
                    .start(self.request.clone())
                    .await
                    .map_err(|e| ReplError::Failed(e.to_string()))?;
                self.session = Some(fresh);
                note.push_str("[the previous sandbox died; a new one was started and earlier variables are lost]\n");
            }
            let Some(session) = self.session.as_mut() else {
                return Err(ReplError::Failed("no session".into()));
            };
            let out = session
                .exec(ExecRequest::new(code))
                .await
                .map_err(|e| ReplError::Failed(e.to_string()))?;
            let mut stdout = note;
            stdout.push_str(&out.stdout);
            if out.stdout_truncated {
                stdout.push_str("\n[stdout truncated at the sandbox's capture limit]");
            }
            let mut stderr = out.stderr;
            if out.stderr_truncated {
                stderr.push_str("\n[stderr truncated at the sandbox's capture limit]");
            }
            let mut error = out.exception.map(|e| {
                if e.traceback.trim().is_empty() {
                    format!("{}: {}", e.kind, e.message)
                } else {
                    e.traceback
                }
            });
            let timed_out = matches!(out.status, ExecStatus::TimedOut { .. });
            match out.status {
                ExecStatus::OutOfMemory => {
                    error.get_or_insert_with(|| {
                        "MemoryError: the sandbox ran out of memory and was stopped".into()
                    });
                }
                ExecStatus::Died { exit_code } => {
                    error.get_or_insert_with(|| {
                        format!("the sandbox process died (exit status {exit_code:?})")
                    });
                }
                ExecStatus::Exited { code } if error.is_none() => {
                    error = Some(format!("SystemExit: {code}"))
                }
                _ => {}
            }
            Ok(CellOutput {
                stdout,
                stderr,
                error,
                timed_out,
                duration: out.duration,
            })
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Some(s) = self.session {
                s.close().await;
            }
        })
    }
}

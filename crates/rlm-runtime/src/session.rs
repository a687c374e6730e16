//! The backend-neutral API ([`Sandbox`], [`Session`]) and the one driver of
//! the agent protocol that every backend shares.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::RuntimeError;
use crate::hostcall::{HostCalls, NoHostCalls};
use crate::protocol::{encode, AgentMsg, CellResult, FrameDecoder, HostMsg};

/// The agent the sandbox runs, sent over stdin at start.
pub(crate) const AGENT_SOURCE: &str = include_str!("agent/agent.py");

/// Starts sessions. Backends: [`crate::DockerSandbox`] (the real one),
/// [`crate::LocalSandbox`] (development only), [`crate::WarmPool`] (a pool
/// in front of Docker). Callers hold a `dyn Sandbox` and never learn which.
#[async_trait::async_trait]
pub trait Sandbox: Send + Sync {
    /// Starts a fresh session with its own process, namespace and context.
    async fn start(&self, req: SessionRequest) -> Result<Box<dyn Session>, RuntimeError>;
}

/// One live, persistent Python REPL in a sandbox.
///
/// Dropping a session without [`Session::close`] still removes its
/// container (from a background thread).
#[async_trait::async_trait]
pub trait Session: Send {
    /// Runs one cell. Variables persist across calls.
    ///
    /// `Ok` covers everything the code did, including raising, timing out
    /// and running out of memory (see [`ExecStatus`]); `Err` means the
    /// session could not run it (dead session, protocol violation).
    async fn exec(&mut self, req: ExecRequest) -> Result<ExecOutcome, RuntimeError>;
    /// What this session is and what it runs on.
    fn info(&self) -> &SessionInfo;
    /// Whether the session can still run code.
    fn is_alive(&self) -> bool;
    /// Ends the session and removes its container.
    async fn close(self: Box<Self>);
}

impl std::fmt::Debug for dyn Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("info", self.info())
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// What a new session gets.
#[derive(Clone)]
pub struct SessionRequest {
    /// A file mounted read-only and exposed as `context`.
    pub context: Option<PathBuf>,
    /// Functions sandbox code may call on the host.
    pub host_calls: Arc<dyn HostCalls>,
}

impl std::fmt::Debug for SessionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRequest")
            .field("context", &self.context)
            .field("host_calls", &self.host_calls.names())
            .finish()
    }
}

impl Default for SessionRequest {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionRequest {
    /// No context, no host functions.
    pub fn new() -> Self {
        SessionRequest {
            context: None,
            host_calls: Arc::new(NoHostCalls),
        }
    }

    /// Mounts `path` read-only as `context`.
    pub fn context(mut self, path: impl Into<PathBuf>) -> Self {
        self.context = Some(path.into());
        self
    }

    /// Serves host calls with `calls`.
    pub fn host_calls(mut self, calls: Arc<dyn HostCalls>) -> Self {
        self.host_calls = calls;
        self
    }
}

/// One cell to run.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// Python source. A trailing expression's `repr` is printed, as in a REPL.
    pub code: String,
    /// Overrides the configured `execution_timeout`. Time spent waiting on
    /// host calls (the sandbox is blocked, not computing) is not counted.
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A cell with the configured timeout.
    pub fn new(code: impl Into<String>) -> Self {
        ExecRequest {
            code: code.into(),
            timeout: None,
        }
    }

    /// With its own timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
}

/// A Python exception raised by a cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PyException {
    /// Class name, e.g. `ImportError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `str(exception)`.
    pub message: String,
    /// The formatted traceback.
    pub traceback: String,
}

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ExecStatus {
    /// Ran to the end (or `sys.exit(0)`).
    Ok,
    /// Raised an exception (see [`ExecOutcome::exception`]).
    Raised,
    /// Called `sys.exit(code)` with a non-zero code; the REPL lives on.
    Exited {
        /// The code.
        code: i64,
    },
    /// Overran its timeout and was interrupted; if it did not yield within
    /// the grace period the container was killed (`killed`, session dead).
    TimedOut {
        /// Whether the container had to be killed.
        killed: bool,
    },
    /// The sandbox ran out of memory and was killed; the session is dead.
    OutOfMemory,
    /// The sandbox process died (e.g. `os._exit`); the session is dead.
    Died {
        /// Its exit status, if known.
        exit_code: Option<i64>,
    },
}

/// The result of one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOutcome {
    /// Captured stdout (Python-level and fd 1), capped at `max_capture_bytes`.
    pub stdout: String,
    /// Captured stderr (Python-level and fd 2), capped likewise.
    pub stderr: String,
    /// Whether stdout was cut.
    pub stdout_truncated: bool,
    /// Whether stderr was cut.
    pub stderr_truncated: bool,
    /// The exception, if one was raised (including `KeyboardInterrupt`
    /// after a timeout, and `SystemExit` with a non-zero code).
    pub exception: Option<PyException>,
    /// Wall time of the cell as the host saw it.
    pub duration: Duration,
    /// How it ended.
    pub status: ExecStatus,
}

impl ExecOutcome {
    /// The exit status `rlm exec` uses: 0 ok, 1 raised or exited non-zero,
    /// 124 timeout, 137 out of memory.
    pub fn exit_code(&self) -> i32 {
        match self.status {
            ExecStatus::Ok => 0,
            ExecStatus::Raised | ExecStatus::Exited { .. } | ExecStatus::Died { .. } => 1,
            ExecStatus::TimedOut { .. } => 124,
            ExecStatus::OutOfMemory => 137,
        }
    }

    fn empty(status: ExecStatus, duration: Duration) -> Self {
        ExecOutcome {
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            exception: None,
            duration,
            status,
        }
    }
}

/// What a session is and what it really runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Session id (also the container name).
    pub id: String,
    /// `docker` or `local`.
    pub backend: String,
    /// The container id (Docker backend).
    pub container_id: Option<String>,
    /// The OCI runtime the container was created with (`local` for the
    /// local backend).
    pub runtime: String,
    /// Verified from inside: the kernel the sandbox saw differs from the
    /// host's (gVisor's own kernel).
    pub is_gvisor: bool,
    /// `uname -r` inside the sandbox.
    pub kernel_release: String,
    /// `uname -r` of the host.
    pub host_kernel: String,
    /// Python version inside.
    pub python: String,
    /// Time from request to ready.
    pub start_time: Duration,
}

/// Limits the driver enforces on the host side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) kill_grace: Duration,
    pub(crate) max_capture: usize,
    pub(crate) max_frame: usize,
}

impl Limits {
    pub(crate) fn from_config(cfg: &rlm_config::SandboxConfig) -> Self {
        let max_capture = usize::try_from(cfg.max_capture_bytes.bytes()).unwrap_or(usize::MAX);
        Limits {
            timeout: cfg.execution_timeout.get(),
            kill_grace: cfg.kill_grace.get(),
            max_capture,
            // Two capped strings, JSON-escaped (up to 6 bytes per byte),
            // plus room for host-call arguments.
            max_frame: max_capture.saturating_mul(12).max(16 << 20),
        }
    }
}

/// Output of a sandbox process: stdout carries frames, stderr diagnostics.
#[derive(Debug)]
pub(crate) enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

/// The byte pipes to one agent.
pub(crate) struct Transport {
    pub(crate) writer: Pin<Box<dyn AsyncWrite + Send>>,
    pub(crate) output: Pin<Box<dyn Stream<Item = Chunk> + Send>>,
}

/// How a dead sandbox died.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Death {
    pub(crate) oom: bool,
    pub(crate) exit_code: Option<i64>,
}

/// What a backend does for the driver.
#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// Kills the sandbox now.
    async fn kill(&self);
    /// After the output ended: how it died.
    async fn death(&self) -> Death;
    /// Removes everything (container, temp files).
    async fn destroy(&self);
    /// The same from `Drop`: must not need the caller's runtime.
    fn destroy_detached(&self);
}

const DIAG_CAP: usize = 16 * 1024;
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The protocol driver: one agent process behind a [`Transport`].
pub(crate) struct AgentSession<B: Backend> {
    info: SessionInfo,
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    frames: mpsc::Receiver<Result<AgentMsg, RuntimeError>>,
    diag: Arc<Mutex<Vec<u8>>>,
    pump: JoinHandle<()>,
    backend: Option<B>,
    host_calls: Arc<dyn HostCalls>,
    limits: Limits,
    next_id: u64,
    dead: Option<String>,
}

impl<B: Backend> AgentSession<B> {
    /// Sends the agent, waits for its hello. On failure the backend is
    /// destroyed before returning.
    pub(crate) async fn boot(
        transport: Transport,
        backend: B,
        limits: Limits,
        mut info: SessionInfo,
    ) -> Result<Self, RuntimeError> {
        let diag = Arc::new(Mutex::new(Vec::new()));
        let (tx, frames) = mpsc::channel(8);
        let pump = tokio::spawn(pump(transport.output, tx, diag.clone(), limits.max_frame));
        let mut s = AgentSession {
            info: info.clone(),
            writer: transport.writer,
            frames,
            diag,
            pump,
            backend: Some(backend),
            host_calls: Arc::new(NoHostCalls),
            limits,
            next_id: 0,
            dead: None,
        };
        let mut boot = format!("{}\n", AGENT_SOURCE.len()).into_bytes();
        boot.extend_from_slice(AGENT_SOURCE.as_bytes());
        let hello = async {
            s.write_raw(&boot).await?;
            s.recv_start().await
        };
        match tokio::time::timeout(START_TIMEOUT, hello).await {
            Ok(Ok(AgentMsg::Hello { kernel, python, .. })) => {
                info.kernel_release = kernel.chars().take(256).collect();
                info.python = python.chars().take(64).collect();
                s.info = info;
                Ok(s)
            }
            Ok(Ok(other)) => Err(s
                .fail_start(RuntimeError::protocol(format!(
                    "expected hello, got {other:?}"
                )))
                .await),
            Ok(Err(e)) => Err(s.fail_start(e).await),
            Err(_) => Err(s
                .fail_start(RuntimeError::Unresponsive(START_TIMEOUT))
                .await),
        }
    }

    /// Sets up the namespace: context, host functions, import hook.
    pub(crate) async fn init(
        &mut self,
        context_path: Option<&str>,
        host_calls: Arc<dyn HostCalls>,
        denied_imports: &[String],
    ) -> Result<(), RuntimeError> {
        let msg = HostMsg::Init {
            denied_imports,
            max_capture_bytes: self.limits.max_capture as u64,
            context_path,
            host_functions: host_calls.names(),
        };
        self.host_calls = host_calls;
        let ready = async {
            self.send(&msg).await?;
            self.recv_start().await
        };
        let r = tokio::time::timeout(START_TIMEOUT, ready).await;
        let err = match r {
            Ok(Ok(AgentMsg::Ready { error: None })) => return Ok(()),
            Ok(Ok(AgentMsg::Ready { error: Some(e) })) => RuntimeError::StartFailed {
                detail: format!("the sandbox could not set up its namespace: {e}"),
                diagnostics: String::new(),
            },
            Ok(Ok(other)) => RuntimeError::protocol(format!("expected ready, got {other:?}")),
            Ok(Err(e)) => e,
            Err(_) => RuntimeError::Unresponsive(START_TIMEOUT),
        };
        self.dead = Some(err.to_string());
        Err(err)
    }

    pub(crate) fn info_mut(&mut self) -> &mut SessionInfo {
        &mut self.info
    }

    /// Kills and removes the sandbox after a failed start, returning the
    /// error with the sandbox's diagnostics attached.
    pub(crate) async fn fail_start(&mut self, e: RuntimeError) -> RuntimeError {
        self.dead = Some(e.to_string());
        self.writer = Box::pin(tokio::io::sink());
        if let Some(b) = self.backend.take() {
            b.kill().await;
            b.destroy().await;
        }
        self.pump.abort();
        match e {
            RuntimeError::StartFailed { detail, .. } => RuntimeError::StartFailed {
                detail,
                diagnostics: self.diagnostics(),
            },
            RuntimeError::Protocol { .. } | RuntimeError::Unresponsive(_) | RuntimeError::Io(_) => {
                RuntimeError::StartFailed {
                    detail: e.to_string(),
                    diagnostics: self.diagnostics(),
                }
            }
            other => other,
        }
    }

    fn diagnostics(&self) -> String {
        let d = self.diag.lock().map(|d| d.clone()).unwrap_or_default();
        String::from_utf8_lossy(&d).into_owned()
    }

    async fn recv_start(&mut self) -> Result<AgentMsg, RuntimeError> {
        match self.frames.recv().await {
            Some(r) => r,
            None => {
                let death = match &self.backend {
                    Some(b) => b.death().await,
                    None => Death::default(),
                };
                Err(RuntimeError::StartFailed {
                    detail: format!(
                        "the sandbox exited during start (exit code {:?}{})",
                        death.exit_code,
                        if death.oom { ", out of memory" } else { "" }
                    ),
                    diagnostics: self.diagnostics(),
                })
            }
        }
    }

    async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), RuntimeError> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await?;
        Ok(())
    }

    async fn send(&mut self, msg: &HostMsg<'_>) -> Result<(), RuntimeError> {
        let f = encode(msg)?;
        self.write_raw(&f).await
    }

    /// Marks the session dead and kills the sandbox.
    ///
    /// Order matters: the pump keeps draining the attach stream until the
    /// sandbox is dead. A hostile sandbox that floods its output after a
    /// protocol violation would otherwise fill the socket, block dockerd's
    /// copy loop, and with it `docker kill`.
    async fn die(&mut self, reason: String) {
        tracing::warn!(session = %self.info.id, %reason, "sandbox session ended");
        self.dead = Some(reason);
        // Closing our half of the attach connection tells the agent its host
        // is gone; nothing more will be sent to a dead session.
        self.writer = Box::pin(tokio::io::sink());
        if let Some(b) = &self.backend {
            b.kill().await;
        }
        self.pump.abort();
    }

    fn finish(&self, r: CellResult, status: ExecStatus, duration: Duration) -> ExecOutcome {
        let cap = self.limits.max_capture;
        let (stdout, so_cut) = cap_str(r.stdout, cap);
        let (stderr, se_cut) = cap_str(r.stderr, cap);
        let exception = r.exception.map(|e| PyException {
            kind: e.kind.chars().take(128).collect(),
            message: cap_str(e.message, 16 * 1024).0,
            traceback: cap_str(e.traceback, 64 * 1024).0,
        });
        let status = match status {
            ExecStatus::Ok => match (r.exit_code, &exception) {
                (Some(c), _) if c != 0 => ExecStatus::Exited { code: c },
                (_, Some(_)) => ExecStatus::Raised,
                _ => ExecStatus::Ok,
            },
            s => s,
        };
        ExecOutcome {
            stdout,
            stderr,
            stdout_truncated: r.stdout_truncated || so_cut,
            stderr_truncated: r.stderr_truncated || se_cut,
            exception,
            duration,
            status,
        }
    }

    async fn exec_inner(&mut self, req: ExecRequest) -> Result<ExecOutcome, RuntimeError> {
        if let Some(reason) = &self.dead {
            return Err(RuntimeError::SessionDead {
                session: self.info.id.clone(),
                reason: reason.clone(),
            });
        }
        self.next_id += 1;
        let id = self.next_id;
        let t0 = Instant::now();
        let timeout = req.timeout.unwrap_or(self.limits.timeout);
        let mut deadline = tokio::time::Instant::now() + timeout;
        let mut interrupted = false;
        if let Err(e) = self
            .send(&HostMsg::Exec {
                id,
                code: &req.code,
            })
            .await
        {
            return Err(self.died_err(e).await);
        }
        loop {
            let next = tokio::time::timeout_at(deadline, self.frames.recv()).await;
            match next {
                Err(_) if !interrupted => {
                    tracing::info!(session = %self.info.id, ?timeout, "cell timed out: interrupting");
                    interrupted = true;
                    deadline = tokio::time::Instant::now() + self.limits.kill_grace;
                    if let Err(e) = self.send(&HostMsg::Interrupt { id }).await {
                        return Err(self.died_err(e).await);
                    }
                }
                Err(_) => {
                    self.die(format!("cell overran its {timeout:?} timeout and ignored the interrupt; container killed")).await;
                    return Ok(ExecOutcome::empty(
                        ExecStatus::TimedOut { killed: true },
                        t0.elapsed(),
                    ));
                }
                Ok(Some(Ok(AgentMsg::Result(r)))) if r.id == id => {
                    let status = if interrupted {
                        ExecStatus::TimedOut { killed: false }
                    } else {
                        ExecStatus::Ok
                    };
                    return Ok(self.finish(r, status, t0.elapsed()));
                }
                Ok(Some(Ok(AgentMsg::Call {
                    id: cid,
                    name,
                    args,
                }))) => {
                    let reply = if interrupted {
                        Err("interrupted: the cell timed out".to_string())
                    } else {
                        let started = tokio::time::Instant::now();
                        let r = self.host_calls.call(&name, args).await;
                        // The sandbox was blocked: the wait is not its time.
                        deadline += started.elapsed();
                        r
                    };
                    let (ok, value, error) = match reply {
                        Ok(v) => (true, v, None),
                        Err(e) => (false, serde_json::Value::Null, Some(e)),
                    };
                    let msg = HostMsg::CallResult {
                        id: cid,
                        ok,
                        value,
                        error,
                    };
                    if let Err(e) = self.send(&msg).await {
                        return Err(self.died_err(e).await);
                    }
                }
                Ok(Some(Ok(other))) => {
                    let e = RuntimeError::protocol(format!(
                        "unexpected frame during a cell: {}",
                        short(&format!("{other:?}"))
                    ));
                    self.die(e.to_string()).await;
                    return Err(e);
                }
                Ok(Some(Err(e))) => {
                    self.die(e.to_string()).await;
                    return Err(e);
                }
                Ok(None) => {
                    let death = match &self.backend {
                        Some(b) => b.death().await,
                        None => Death::default(),
                    };
                    let status = if death.oom {
                        ExecStatus::OutOfMemory
                    } else {
                        ExecStatus::Died {
                            exit_code: death.exit_code,
                        }
                    };
                    self.die(format!("sandbox process ended: {status:?}")).await;
                    let mut out = ExecOutcome::empty(status, t0.elapsed());
                    out.stderr = cap_str(self.diagnostics(), self.limits.max_capture).0;
                    return Ok(out);
                }
            }
        }
    }

    /// A write to the sandbox failed: it is gone.
    async fn died_err(&mut self, e: RuntimeError) -> RuntimeError {
        self.die(e.to_string()).await;
        RuntimeError::SessionDead {
            session: self.info.id.clone(),
            reason: e.to_string(),
        }
    }

    pub(crate) async fn close_inner(&mut self) {
        self.dead.get_or_insert_with(|| "closed".to_string());
        self.writer = Box::pin(tokio::io::sink());
        // Destroy while the pump still drains (see `die`).
        if let Some(b) = self.backend.take() {
            b.destroy().await;
        }
        self.pump.abort();
    }
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Cuts `s` to at most `cap` bytes on a character boundary.
pub(crate) fn cap_str(mut s: String, cap: usize) -> (String, bool) {
    if s.len() <= cap {
        return (s, false);
    }
    let mut end = cap;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    (s, true)
}

/// Reads the sandbox's output: frames from stdout, capped diagnostics from
/// stderr. Ends at the first protocol error (the session is then over).
async fn pump(
    mut output: Pin<Box<dyn Stream<Item = Chunk> + Send>>,
    tx: mpsc::Sender<Result<AgentMsg, RuntimeError>>,
    diag: Arc<Mutex<Vec<u8>>>,
    max_frame: usize,
) {
    let mut dec = FrameDecoder::new(max_frame);
    while let Some(chunk) = output.next().await {
        match chunk {
            Chunk::Out(bytes) => {
                dec.push(&bytes);
                loop {
                    match dec.next() {
                        Ok(Some(msg)) => {
                            if tx.send(Ok(msg)).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            // Keep reading (and discarding) until the
                            // sandbox is killed: an unread attach stream
                            // blocks dockerd, and `docker kill` with it.
                            while output.next().await.is_some() {}
                            return;
                        }
                    }
                }
            }
            Chunk::Err(bytes) => {
                if let Ok(mut d) = diag.lock() {
                    crate::host::append_capped(&mut d, &bytes, DIAG_CAP);
                }
            }
        }
    }
}

/// Wraps an [`AgentSession`] as a [`Session`].
#[async_trait::async_trait]
impl<B: Backend> Session for AgentSession<B> {
    async fn exec(&mut self, req: ExecRequest) -> Result<ExecOutcome, RuntimeError> {
        self.exec_inner(req).await
    }

    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn is_alive(&self) -> bool {
        self.dead.is_none()
    }

    async fn close(mut self: Box<Self>) {
        self.close_inner().await;
    }
}

impl<B: Backend> Drop for AgentSession<B> {
    fn drop(&mut self) {
        self.pump.abort();
        if let Some(b) = self.backend.take() {
            b.destroy_detached();
        }
    }
}

/// A new session id (also the container name).
pub(crate) fn new_session_id() -> String {
    crate::owner::new_session_id()
}

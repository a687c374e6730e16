//! # rlm-runtime
//!
//! The isolation layer: hardened Docker sessions (gVisor first) holding a
//! persistent Python REPL, the context handle inside the sandbox, and the
//! narrow framed channel for host calls.

mod choose;
mod docker;
mod error;
mod hardening;
pub mod host;
mod hostcall;
mod local;
mod owner;
mod pool;
mod protocol;
mod reaper;
mod session;

pub use choose::{resolve_runtime, ChosenRuntime};
pub use docker::DockerSandbox;
pub use error::RuntimeError;
pub use hardening::{CONTEXT_DIR_MOUNT, CONTEXT_MOUNT, SANDBOX_USER};
pub use host::{host_kernel, DockerHost, ImageInfo, Probe, RuntimeInfo};
pub use local::LocalSandbox;
pub use hostcall::{HostCallRegistry, HostCalls, NoHostCalls};
pub use pool::WarmPool;
pub use owner::{
    LABEL_BOOT_ID, LABEL_CREATED, LABEL_KIND, LABEL_OWNER_PID, LABEL_OWNER_START, LABEL_SESSION,
};
pub use protocol::PROTOCOL_VERSION;
pub use reaper::{reap_orphans, ReapReport};
pub use session::{
    ExecOutcome, ExecRequest, ExecStatus, PyException, Sandbox, Session, SessionInfo,
    SessionRequest,
};

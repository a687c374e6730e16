//! # rlm-runtime
//!
//! The isolation layer: hardened Docker sessions (gVisor first) holding a
//! persistent Python REPL, the context handle inside the sandbox, and the
//! narrow framed channel for host calls.
//!
//! ## How the pieces compose
//!
//! * [`resolve_runtime`] picks the OCI runtime from the configuration and
//!   the daemon's registered runtimes ([`DockerHost::runtimes`]): gVisor
//!   when any runtime's binary is `runsc`, otherwise refused unless unsafe
//!   runtimes are allowed; `runc` is refused under the `maximum` profile.
//! * [`DockerSandbox`] (a [`Sandbox`]) creates one hardened container per
//!   session (`hardening.rs`: no network, read-only root, `cap_drop ALL`,
//!   uid 65534, limits, no log driver, …), attaches to its stdio, sends the
//!   agent (`agent/agent.py`) over stdin, and verifies from inside which
//!   kernel it got. [`WarmPool`] keeps such containers pre-started;
//!   [`LocalSandbox`] is the unisolated development backend.
//! * A [`Session`] speaks the framed protocol (8 hex digits of length +
//!   JSON with `v`) to the agent: `exec` cells, interrupts on timeout (and a
//!   kill after `kill_grace`), host calls to the [`HostCalls`] given in the
//!   [`SessionRequest`]. Anything malformed from the sandbox ends the
//!   session with [`RuntimeError::Protocol`]; nothing from it can panic
//!   the host.
//! * Cleanup: containers are labelled with their owner (pid, start time,
//!   boot id); closing or dropping a session removes its container, the
//!   agent exits when its stdin closes (the host died), and
//!   [`reap_orphans`] removes what dead owners left, including runsc
//!   processes of failed starts.
//!

#![doc = include_str!("../README.md")]

mod choose;
mod docker;
mod error;
mod hardening;
pub mod host;
mod hostcall;
mod launches;
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
pub use hostcall::{HostCallRegistry, HostCalls, NoHostCalls};
pub use local::LocalSandbox;
pub use owner::{
    LABEL_BOOT_ID, LABEL_CREATED, LABEL_KIND, LABEL_OWNER_PID, LABEL_OWNER_START, LABEL_SESSION,
};
pub use pool::WarmPool;
pub use protocol::PROTOCOL_VERSION;
pub use reaper::{reap_orphans, remove_own_sandboxes, ReapReport};
pub use session::{
    ExecOutcome, ExecRequest, ExecStatus, PyException, Sandbox, Session, SessionInfo,
    SessionRequest,
};

/// Decodes `bytes` as the host decodes what a sandbox sends, frame after
/// frame, and returns how many well-formed frames came before the end or
/// the first violation. Exposed for the fuzz target
/// (`crates/rlm-runtime/fuzz`): whatever the sandbox writes, the host gets
/// frames or a [`RuntimeError`], never a panic.
#[doc(hidden)]
pub fn decode_untrusted_frames(
    bytes: &[u8],
    max_frame: usize,
) -> (usize, Result<(), RuntimeError>) {
    let mut decoder = protocol::FrameDecoder::new(max_frame);
    // Feed in uneven pieces, as a stream would arrive.
    let mut frames = 0;
    for chunk in bytes.chunks(7) {
        decoder.push(chunk);
        loop {
            match decoder.next() {
                Ok(Some(_)) => frames += 1,
                Ok(None) => break,
                Err(e) => return (frames, Err(e)),
            }
        }
    }
    (frames, Ok(()))
}

//! Ctrl-C and SIGTERM for the commands that start sandboxes.
//!
//! The signals are watched from the command's first step, so an interrupt
//! during setup or a session start is not lost, and no sandbox outlives
//! one: the command's future is dropped (sessions it holds remove their
//! containers on drop), then [`rlm_runtime::remove_own_sandboxes`] stops
//! further starts, waits for creations already sent to Docker and removes
//! whatever this process still owns.

use std::future::Future;
use std::io::IsTerminal;

use rlm_runtime::RuntimeError;
use tokio::signal::unix::{signal, SignalKind};

/// Exit: interrupted by Ctrl-C (SIGINT), 128 + 2 as a shell reports it.
pub(crate) const INTERRUPTED: i32 = 130;
/// Exit: stopped by SIGTERM, 128 + 15.
pub(crate) const TERMINATED: i32 = 143;

/// Runs `command` to its exit status, unless SIGINT or SIGTERM comes
/// first: then it cleans up as the module says and returns
/// [`INTERRUPTED`] or [`TERMINATED`].
pub(crate) async fn exit_on_signal(name: &str, command: impl Future<Output = i32>) -> i32 {
    let (mut int, mut term) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(int), Ok(term)) => (int, term),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{name}: warning: cannot watch for Ctrl-C ({e}); if interrupted, run `rlm doctor --reap`");
            return command.await;
        }
    };
    let code = tokio::select! {
        code = command => return code,
        _ = int.recv() => INTERRUPTED,
        _ = term.recv() => TERMINATED,
    };
    if std::io::stderr().is_terminal() {
        // Clears a progress line the command may have left.
        eprint!("\r\x1b[2K");
    }
    match rlm_runtime::remove_own_sandboxes().await {
        Ok(_) => eprintln!("{name}: interrupted; its sandboxes were removed"),
        // No Docker now means no sandbox was started through it.
        Err(RuntimeError::DockerUnreachable { .. }) => eprintln!("{name}: interrupted"),
        Err(e) => eprintln!(
            "{name}: interrupted; its sandboxes could not all be removed ({e}): run `rlm doctor --reap`"
        ),
    }
    code
}

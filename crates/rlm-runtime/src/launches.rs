//! Container creations in flight in this process, and the switch that
//! stops new ones when the process is on its way out.
//!
//! A `docker create` whose caller is dropped (Ctrl-C, a timeout) has often
//! already reached the daemon: the container appears a moment later, after
//! any removal by name has answered "no such container". So each create
//! runs in a task of its own that always learns the outcome (see
//! `DockerSandbox::launch`) and holds a [`Ticket`] until then. An
//! interrupted command closes launches, waits for the tickets to come back,
//! and only then sweeps the containers it owns: nothing can land after the
//! sweep.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

static CLOSED: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Counts one create in flight until dropped.
#[derive(Debug)]
pub(crate) struct Ticket(());

impl Drop for Ticket {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A ticket for one create, or `None` once launches are closed.
pub(crate) fn ticket() -> Option<Ticket> {
    if CLOSED.load(Ordering::SeqCst) {
        return None;
    }
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    let ticket = Ticket(());
    // Closed between the check and the count: the closer may already have
    // seen zero in flight, so this create must not go ahead.
    if CLOSED.load(Ordering::SeqCst) {
        return None;
    }
    Some(ticket)
}

/// Refuses every later launch in this process.
pub(crate) fn close() {
    CLOSED.store(true, Ordering::SeqCst);
}

/// Waits until no create is in flight, or `limit` has passed; returns
/// whether none is.
pub(crate) async fn settle(limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if IN_FLIGHT.load(Ordering::SeqCst) == 0 {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                in_flight = IN_FLIGHT.load(Ordering::SeqCst),
                "container creations still in flight; sweeping anyway"
            );
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

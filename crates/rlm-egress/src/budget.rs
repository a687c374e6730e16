//! The disclosure budget: how much of the protected context one session may
//! release in total.
//!
//! Per-output limits stop dumps, not trickles: a program can print the
//! context 60 bytes at a time, each quote under `max_context_echo`, over
//! thousands of outputs. The budget counts the context bytes every output
//! releases and, once the cap is reached, has the filter redact (or block)
//! further echoes of any length it detects.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counter of context bytes released over a session, shared by reference
/// between all the outputs (and threads) of that session.
#[derive(Debug)]
pub struct DisclosureBudget {
    cap: u64,
    released: AtomicU64,
}

impl DisclosureBudget {
    /// A budget that lets `cap` bytes of context leave in total.
    pub fn new(cap: u64) -> Self {
        DisclosureBudget {
            cap,
            released: AtomicU64::new(0),
        }
    }

    /// A budget without limit, that still counts.
    pub fn unlimited() -> Self {
        DisclosureBudget::new(u64::MAX)
    }

    /// The cap in bytes.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Context bytes released so far.
    pub fn released(&self) -> u64 {
        self.released.load(Ordering::Acquire)
    }

    /// Bytes that may still be released.
    pub fn remaining(&self) -> u64 {
        self.cap.saturating_sub(self.released())
    }

    /// Whether nothing more may be released.
    pub fn is_exhausted(&self) -> bool {
        self.remaining() == 0
    }

    /// Takes `bytes` from the budget if they all fit; otherwise takes nothing
    /// and returns `false`. Atomic, so concurrent outputs never overspend.
    pub fn try_spend(&self, bytes: u64) -> bool {
        self.released
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                let n = r.checked_add(bytes)?;
                (n <= self.cap).then_some(n)
            })
            .is_ok()
    }

    /// Records `bytes` as released even past the cap (for releases the
    /// caller decided on elsewhere). Saturates instead of wrapping.
    pub fn record(&self, bytes: u64) {
        let _ = self
            .released
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                Some(r.saturating_add(bytes))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_up_to_the_cap() {
        let b = DisclosureBudget::new(100);
        assert!(b.try_spend(60));
        assert!(!b.try_spend(41));
        assert!(b.try_spend(40));
        assert!(b.is_exhausted());
        b.record(u64::MAX);
        assert_eq!(b.released(), u64::MAX);
    }
}

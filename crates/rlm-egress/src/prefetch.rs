//! Software prefetching: asking the CPU to start loading memory that a pass
//! will read shortly, so that the wait overlaps with work on what is
//! already loaded.
//!
//! Why the filter needs it: its passes read a large output (20 MB in the
//! benchmark) from far caches, and on the machines it was measured on the
//! hardware prefetchers do not run far enough ahead of them. Asking for the
//! text 4 KiB ahead of the classifying pass, the token-run scan and the
//! context probes, for the filter words of the next batch of probes, and
//! for the table lines of the probes that passed, made `apply` about a
//! tenth faster (see the crate README, ninth round).
//!
//! A prefetch is a hint: it never faults, changes no value and may be
//! dropped, so a wrong address only costs a wasted load. `pulp` wraps the
//! SSE instruction (every x86-64 has it) in a safe function, so the crate
//! still forbids `unsafe`. On other architectures [`Prefetch`] does nothing.

/// How far ahead of its position a pass over the text asks for it. Between
/// 2 and 16 KiB the measured gain did not change; 4 KiB is well inside the
/// nearer caches and well beyond what the hardware prefetchers cover.
pub(crate) const AHEAD: usize = 4096;

/// How many runs ahead a pass over the token runs asks for a run's text.
pub(crate) const RUNS_AHEAD: usize = 6;

/// A handle for prefetching into the nearest cache; copy it into loops.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prefetch {
    #[cfg(target_arch = "x86_64")]
    sse: Option<pulp::core_arch::x86::Sse>,
}

impl Prefetch {
    /// The prefetcher of this CPU (checked once per call site's pass; the
    /// check is a cached load).
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Prefetch {
            #[cfg(target_arch = "x86_64")]
            sse: pulp::core_arch::x86::Sse::try_new(),
        }
    }

    /// Whether prefetches are issued at all (else the caller may touch the
    /// memory itself, as the table loads of `find_runs` do).
    #[inline(always)]
    pub(crate) fn is_active(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return self.sse.is_some();
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    }

    /// Asks for the cache line holding `slice[i]`, if `i` is in bounds.
    #[inline(always)]
    pub(crate) fn at<T>(self, slice: &[T], i: usize) {
        #[cfg(target_arch = "x86_64")]
        if let (Some(sse), Some(item)) = (self.sse, slice.get(i)) {
            sse._mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                (item as *const T).cast::<i8>(),
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (slice, i);
    }

    /// Asks for the start of the run [`RUNS_AHEAD`] after `runs[idx]`, and
    /// for the run itself further ahead ([`Prefetch::run_itself_ahead`]):
    /// the passes over the runs read each run and its text, which by then
    /// only the far caches hold.
    #[inline(always)]
    pub(crate) fn run_ahead(self, text: &[u8], runs: &[crate::encoded::Run], idx: usize) {
        self.run_itself_ahead(runs, idx);
        if let Some(run) = runs.get(idx + RUNS_AHEAD) {
            self.at(text, run.span.start);
        }
    }

    /// Asks for the run four times [`RUNS_AHEAD`] after `runs[idx]`: a pass
    /// over the runs comes after other passes have filled the caches (the
    /// runs of a 20 MB output fill megabytes), and a run's text can only be
    /// asked for once its span is read.
    #[inline(always)]
    pub(crate) fn run_itself_ahead(self, runs: &[crate::encoded::Run], idx: usize) {
        self.at(runs, idx + 4 * RUNS_AHEAD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_anywhere_is_harmless() {
        let p = Prefetch::new();
        let v = vec![7u64; 1000];
        for i in [0, 1, 999, 1000, usize::MAX] {
            p.at(&v, i);
        }
        p.at::<u8>(&[], 0);
        assert_eq!(v.iter().sum::<u64>(), 7000);
        #[cfg(target_arch = "x86_64")]
        assert!(p.is_active());
    }
}

//! Index of the protected context, to find verbatim runs of it in outputs.
//!
//! The guarantee: any run of at least `max_echo + 1` bytes that occurs both in
//! the context (anywhere, not only in a prefix) and in an output is found.
//!
//! How, cheaply on both sides: the index stores the hash of the `k`-byte
//! window starting at every `t`-th context position, and a lookup hashes the
//! window at every `u`-th output position, with `t` and `u` coprime. If an
//! output run `[p, p+R)` equals the context at `[p+d, p+d+R)`, we need an
//! output position `i` in the run with `i ≡ 0 (mod u)` and `i+d ≡ 0 (mod t)`;
//! by the Chinese remainder theorem such `i` recur every `t·u` positions, so a
//! run with `R - k + 1 >= t·u` always contains one. Each hit is verified
//! byte-for-byte and extended both ways to the maximal common run, so hash
//! collisions cost time, never correctness.
//!
//! Building costs one hash per `t` context bytes and a lookup one hash per `u`
//! output bytes; memory is `O(context / t)`, independent of output size.

use std::ops::Range;

/// Longest window hashed; longer windows add no selectivity worth the cost.
const MAX_K: usize = 16;
/// Candidates followed per hash when the context repeats itself.
const MAX_CHAIN: usize = 8;
/// Runs with fewer distinct bytes than this are separators (`-----`, blank
/// padding, table rules), not content worth protecting.
const MIN_DISTINCT: usize = 6;

/// A verbatim run shared by an output and the context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EchoRun {
    /// Span in the output.
    pub(crate) span: Range<usize>,
}

/// The protected context, indexed for echo detection.
///
/// Build once per session with [`ContextIndex::new`] and share it (it is
/// `Send + Sync`) between filters, threads and outputs.
pub struct ContextIndex {
    data: Vec<u8>,
    max_echo: usize,
    k: usize,
    t: usize,
    u: usize,
    /// Open-addressing table (linear probing, power-of-two size, at most
    /// 4/5 full): each slot is `tag << sample_bits | (sample + 1)`, `tag` the
    /// top bits of the window hash and `sample` the position divided by `t`;
    /// 0 is empty. Samples with the same hash sit in probe order, first
    /// occurrence first, at most `MAX_CHAIN` of them. Four bytes a slot keep
    /// the table small (cache and TLB misses dominate building and lookups).
    slots: Vec<u32>,
    /// [`tag_mask`] of the number of bits a sample number takes.
    tag_mask: u32,
    entries: usize,
}

impl std::fmt::Debug for ContextIndex {
    // Never print the context itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextIndex")
            .field("context_bytes", &self.data.len())
            .field("max_echo", &self.max_echo)
            .field("k", &self.k)
            .field("t", &self.t)
            .field("u", &self.u)
            .field("entries", &self.entries)
            .finish()
    }
}

/// Hash of a window of at most 16 bytes: two unaligned loads and a multiply
/// mix. Shorter windows are zero-padded (they are all of one length `k` in a
/// given index, so padding never confuses two windows).
#[inline]
fn hash_window(w: &[u8]) -> u64 {
    // Full-length windows (the usual `k == 16`) load straight from the
    // slice; shorter ones go through a zero-padded copy.
    let (a, b) = match (w.get(..8), w.get(8..MAX_K)) {
        (Some(a), Some(b)) => (le_u64(a), le_u64(b)),
        _ => {
            let mut buf = [0u8; MAX_K];
            let n = w.len().min(MAX_K);
            buf[..n].copy_from_slice(&w[..n]);
            (le_u64(&buf[..8]), le_u64(&buf[8..]))
        }
    };
    let h = a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.rotate_left(29).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    // Final avalanche so that the table's bucket and tag bits are both good.
    let h = (h ^ (h >> 32)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 32)
}

/// Little-endian `u64` of exactly eight bytes.
#[inline]
fn le_u64(s: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    u64::from_le_bytes(a)
}

/// Mask of the tag bits of a slot: the top `32 - sample_bits` bits.
#[inline]
fn tag_mask(sample_bits: u32) -> u32 {
    u32::MAX.checked_shl(sample_bits).unwrap_or(0)
}

/// The tag bits of the hash, in place: `hash >> 32` masked by [`tag_mask`].
#[inline]
fn tag_of(h: u64, mask: u32) -> u32 {
    (h >> 32) as u32 & mask
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Chooses `(k, t, u)` for runs of at least `min_run` bytes: the window as
/// long as useful, then the largest output stride for a context stride of 3
/// (cheap to build, cheap to look up).
fn parameters(min_run: usize) -> (usize, usize, usize) {
    let min_run = min_run.max(1);
    let k = (min_run / 3).clamp(1, MAX_K).min(min_run);
    let room = min_run - k + 1; // t·u must not exceed this
    for t in [3usize, 2, 1] {
        if room < t {
            continue;
        }
        let mut u = room / t;
        while u > 1 && gcd(t, u) != 1 {
            u -= 1;
        }
        if u >= 1 && gcd(t, u) == 1 {
            return (k, t, u);
        }
    }
    (k, 1, 1)
}

impl ContextIndex {
    /// Indexes `context` so that any verbatim run longer than `max_echo`
    /// bytes of it is found in outputs.
    pub fn new(context: impl Into<Vec<u8>>, max_echo: usize) -> Self {
        let data: Vec<u8> = context.into();
        let (k, t, u) = parameters(max_echo.saturating_add(1));
        let samples = if data.len() >= k {
            (data.len() - k) / t + 1
        } else {
            0
        };
        let samples = samples.min(u32::MAX as usize - 1);
        let cap = (samples + samples / 4).next_power_of_two().max(16);
        let mask = cap - 1;
        let sample_bits = u32::BITS - (samples as u32 + 1).leading_zeros();
        let tmask = tag_mask(sample_bits);
        let mut slots = vec![0u32; cap];
        let mut entries = 0usize;
        for sample in 0..samples {
            let p = sample * t;
            let h = hash_window(&data[p..p + k]);
            let tag = tag_of(h, tmask);
            let mut j = h as usize & mask;
            let mut same = 0;
            loop {
                let v = slots[j];
                if v == 0 {
                    slots[j] = tag | (sample as u32 + 1);
                    entries += 1;
                    break;
                }
                if v & tmask == tag {
                    same += 1;
                    if same >= MAX_CHAIN {
                        break;
                    }
                }
                j = (j + 1) & mask;
            }
        }
        tracing::debug!(
            context_bytes = data.len(),
            max_echo,
            k,
            t,
            u,
            entries,
            "context index built"
        );
        ContextIndex {
            data,
            max_echo,
            k,
            t,
            u,
            slots,
            tag_mask: tmask,
            entries,
        }
    }

    /// An index of nothing: finds no echo.
    pub fn empty(max_echo: usize) -> Self {
        ContextIndex::new(Vec::new(), max_echo)
    }

    /// Longest verbatim run that is allowed to leave.
    pub fn max_echo(&self) -> usize {
        self.max_echo
    }

    /// Size of the protected context in bytes.
    pub fn context_len(&self) -> usize {
        self.data.len()
    }

    /// Whether the context is empty.
    pub fn is_empty(&self) -> bool {
        self.data.len() < self.k
    }

    /// Shortest run that is always found (`<= max_echo + 1`); shorter runs are
    /// found by chance, with probability `(len - k + 1) / (t·u)`.
    pub fn guaranteed_run(&self) -> usize {
        self.k + self.t * self.u - 1
    }

    /// Estimated context bytes behind a found quote of `len` bytes. Runs
    /// shorter than [`guaranteed_run`](Self::guaranteed_run) are only found
    /// with probability `(len - k + 1) / (t·u)`, so each found one stands for
    /// `1 / p` such quotes (inverse-probability weighting keeps the session
    /// total unbiased).
    pub(crate) fn estimate_released(&self, len: usize) -> usize {
        if len >= self.guaranteed_run() {
            return len;
        }
        let hits = (len + 1).saturating_sub(self.k).max(1);
        len.saturating_mul(self.t * self.u).div_ceil(hits)
    }

    /// Finds common runs of at least `k` bytes in `out`, in order, not
    /// overlapping. `phase` is the absolute position of `out[0]` in a stream,
    /// so that sampling stays aligned across chunks.
    pub(crate) fn find_runs(&self, out: &[u8], phase: usize, runs: &mut Vec<EchoRun>) {
        if self.is_empty() || out.len() < self.k {
            return;
        }
        let k = self.k;
        let u = self.u;
        // First sampled position at or after 0 with (phase + i) % u == 0.
        let mut i = (u - phase % u) % u;
        // Backward extension never enters a run already reported as too
        // long (it will be cut), and never goes further back than the first
        // sampled position of a run can be from its start (`t·u + k`), which
        // keeps the work linear.
        let reach = self.t * u + k;
        let mut long_end = 0usize;
        while i + k <= out.len() {
            let h = hash_window(&out[i..i + k]);
            let mut best: Option<Range<usize>> = None;
            let mask = self.slots.len() - 1;
            let tag = tag_of(h, self.tag_mask);
            let mut j = h as usize & mask;
            let mut steps = 0;
            loop {
                let v = self.slots[j];
                if v == 0 {
                    break;
                }
                if v & self.tag_mask == tag {
                    let floor = long_end.max(i.saturating_sub(reach));
                    let q = ((v ^ tag) as usize - 1) * self.t;
                    if let Some(r) = self.extend(out, i, q, floor) {
                        if best.as_ref().is_none_or(|b| r.len() > b.len()) {
                            best = Some(r);
                        }
                    }
                    steps += 1;
                    if steps >= MAX_CHAIN {
                        break;
                    }
                }
                j = (j + 1) & mask;
            }
            let Some(r) = best else {
                i += u;
                continue;
            };
            let end = r.end;
            let long = r.len() > self.max_echo;
            if distinct_bytes(&out[r.clone()]) >= MIN_DISTINCT {
                match runs.last_mut() {
                    // The same quote seen again from a later sample, or a
                    // longer run containing an earlier short one.
                    Some(last) if last.span.start >= r.start && last.span.end <= r.end => {
                        last.span = r;
                    }
                    Some(last) if r.start >= last.span.start && r.end <= last.span.end => {}
                    _ => runs.push(EchoRun { span: r }),
                }
            }
            if long {
                // Everything up to `end` is cut anyway: jump past it, to the
                // first sampled window that may start a new run.
                long_end = end;
                let from = end.saturating_sub(k - 1).max(i + 1);
                i = from + (u - (phase + from) % u) % u;
            } else {
                // A short quote must not hide a long run through the same
                // bytes on another diagonal: keep sampling.
                i += u;
            }
        }
    }

    /// Maximal common run through output `i` / context `q`, if the window
    /// really matches.
    #[inline]
    fn extend(&self, out: &[u8], i: usize, q: usize, floor: usize) -> Option<Range<usize>> {
        let k = self.k;
        let ctx = &self.data;
        if ctx.get(q..q + k)? != out.get(i..i + k)? {
            return None;
        }
        let mut a = i;
        let mut b = q;
        while a > floor && b > 0 && out[a - 1] == ctx[b - 1] {
            a -= 1;
            b -= 1;
        }
        let back = i - a;
        let fwd = common_prefix(&out[i + k..], &ctx[q + k..]);
        Some(i - back..i + k + fwd)
    }
}

/// Length of the common prefix, eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        if a[i..i + 8] != b[i..i + 8] {
            break;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

fn distinct_bytes(s: &[u8]) -> usize {
    let mut seen = [false; 256];
    let mut n = 0;
    for &b in s {
        if !seen[b as usize] {
            seen[b as usize] = true;
            n += 1;
            if n >= MIN_DISTINCT {
                break;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_guarantee_the_run_length() {
        for l in 0..600 {
            let (k, t, u) = parameters(l + 1);
            assert!(k + t * u - 1 <= l + 1, "l={l} k={k} t={t} u={u}");
            assert_eq!(gcd(t, u), 1);
        }
    }

    #[test]
    fn finds_every_long_run_anywhere() {
        let ctx: Vec<u8> = (0..5000u32)
            .map(|i| {
                b"abcdefghijklmnopqrstuvwxyz0123456789 .,;"
                    [(i.wrapping_mul(2654435761) >> 7) as usize % 40]
            })
            .collect();
        let idx = ContextIndex::new(ctx.clone(), 64);
        for start in (0..4900).step_by(97) {
            for pad in 0..7 {
                let mut out = vec![b'#'; pad];
                out.extend_from_slice(&ctx[start..start + 65.min(5000 - start)]);
                out.extend_from_slice(b"####");
                let mut runs = Vec::new();
                idx.find_runs(&out, 0, &mut runs);
                assert!(
                    runs.iter().any(|r| r.span.len() >= 65),
                    "start {start} pad {pad}: {runs:?}"
                );
            }
        }
    }
}

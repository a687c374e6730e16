//! Index of the protected context, to find verbatim runs of it in outputs.
//!
//! The guarantee: any run of at least `max_echo + 1` bytes that occurs both in
//! the context (anywhere, not only in a prefix) and in an output is found,
//! with its full maximal extent.
//!
//! How, cheaply on both sides: the index stores the hash of the `k`-byte
//! window starting at every `t`-th context position (a *sample*), and a
//! lookup hashes the window at every `u`-th output position (a *probe*), with
//! `t` and `u` coprime. If an output run `[p, p+R)` equals the context at
//! `[p+d, p+d+R)`, we need an output position `i` in the run with
//! `i ≡ 0 (mod u)` and `i+d ≡ 0 (mod t)`; by the Chinese remainder theorem
//! such `i` recur every `t·u` positions, so a run with `R - k + 1 >= t·u`
//! always contains one. Each hit is verified byte-for-byte and extended both
//! ways to the maximal common run, so hash collisions cost time, never
//! correctness. A shorter run is found exactly when it happens to contain
//! such an `i`, which over the `t·u` alignments happens with probability
//! `(R - k + 1) / (t·u)`.
//!
//! `t·u` is bounded by the run length, so the strides trade against each
//! other: the context stride `t` is chosen to balance building against
//! probing (3 for the default `max_echo` of 64, with `u = 17` and `k = 15`).
//!
//! Costs. A probe must be a few instructions and almost never a cache miss,
//! so probes go to a blocked Bloom filter of the samples first (16 bits a
//! sample, one `u64` word a probe, about 0.5% false positives). Probes are
//! hashed and tested in batches, so that the CPU keeps many filter loads in
//! flight; the few that pass are followed afterwards, a chunk of output at a
//! time, with their table lines loaded together. The table groups the
//! samples by hash (a counting sort by group: two passes over the context
//! whose random writes go to cache-resident arrays). Memory is about 6 bytes
//! a sample, `O(context / t)`, independent of output size.
//!
//! Repetitive contexts (logs, templates): a window is only followed to its
//! first `MAX_CHAIN` occurrences, which keeps lookups short. When that many
//! match and the run found is short, the run may be long through another
//! occurrence; then it extends past an end of the short one, and the sampled
//! windows covering the bytes just past both ends are looked up too (they
//! hold the unique part of a repeated line: an id, a timestamp). A long run
//! can still be missed if those windows also repeat more than `MAX_CHAIN`
//! times and differ from their first occurrences' surroundings.

use std::collections::HashMap;
use std::ops::Range;

use crate::prefetch::{Prefetch, AHEAD};

/// Longest window hashed; longer windows add no selectivity worth the cost.
const MAX_K: usize = 16;
/// Occurrences of one window followed, when the context repeats itself.
const MAX_CHAIN: usize = 8;
/// Runs with fewer distinct bytes than this are separators (`-----`, blank
/// padding, table rules), not content worth protecting.
const MIN_DISTINCT: usize = 6;
/// Filter bits per sample. Each sample sets [`FILTER_HASHES`] bits of one
/// `u64` block; 16 bits and 4 hashes let about 0.5% of unrelated probes
/// through to the table. Fewer bits keep more of the filter in cache but let
/// through more probes, each of which costs cache misses in the table.
const FILTER_BITS: usize = 16;
/// Bits set per sample in its filter block (6 hash bits each).
const FILTER_HASHES: u32 = 4;
/// Filter blocks per table group: a group holds about 64 samples (256
/// bytes, scanned on a lookup), and the group cursors of the build, 1/64 of
/// the samples, stay in cache.
const GROUP_BLOCKS: usize = 16;
/// Groups longer than this (a window repeated all over the context; random
/// groups stay near 64) are trimmed at build to [`MAX_CHAIN`] occurrences of
/// each window, so that no lookup scans a long group.
const LONG_GROUP: usize = 256;
/// Expected output/context size ratio over a session (about 10) times the
/// cost of an output probe relative to a context sample (about 1/2): with
/// `t·u = room`, the total `context / t · sample + output / u · probe` is
/// least for `t = sqrt(room / BUILD_VS_PROBE)`.
const BUILD_VS_PROBE: usize = 5;
/// Probes hashed, then tested, together.
const BATCH: usize = 32;
/// Output bytes whose probes are filtered before those that passed are
/// followed (bounds the list of passed probes).
const CHUNK: usize = 16 * 1024;

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
    /// Masks keeping the first `k` bytes of the two little-endian words of
    /// a 16-byte window (shorter windows are hashed zero-padded).
    mask_lo: u64,
    mask_hi: u64,
    /// Blocked Bloom filter of the sample hashes: [`FILTER_HASHES`] bits in
    /// the block [`bucket`] picks.
    filter: Vec<u64>,
    /// Group `g` (filter blocks `g * GROUP_BLOCKS ..`) holds
    /// `slots[groups[g]..groups[g + 1]]`.
    groups: Vec<u32>,
    /// Samples grouped by hash, in context order within a group: each is
    /// `tag | (sample + 1)`, `tag` hash bits above the sample number. 0 pads
    /// the end of a trimmed group.
    slots: Vec<u32>,
    /// Bits a sample number takes in a slot; the tag has the rest.
    sample_bits: u32,
    /// [`tag_mask`] of `sample_bits`.
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

/// The filter positions of a batch of probes `at, at + u, ...`: block and
/// wanted bits of each.
#[derive(Clone, Copy)]
struct Batch {
    at: usize,
    blk: [u32; BATCH],
    want: [u64; BATCH],
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            at: 0,
            blk: [0; BATCH],
            want: [0; BATCH],
        }
    }
}

impl Batch {
    /// Probe `j` has hash `h`, among `blocks` filter blocks.
    #[inline(always)]
    fn set(&mut self, j: usize, h: u64, blocks: usize) {
        self.blk[j] = bucket(h, blocks) as u32;
        self.want[j] = filter_bits(h);
    }
}

/// State of one [`ContextIndex::find_runs`] call.
struct Scan<'a> {
    phase: usize,
    /// End of the last run reported as too long.
    long_end: usize,
    runs: &'a mut Vec<EchoRun>,
}

/// The two little-endian words of the 16 bytes at `s[i..]`, zero-padded past
/// the end of `s` (the caller masks them down to `k` bytes).
#[inline(always)]
fn load_window(s: &[u8], i: usize) -> (u64, u64) {
    match s.get(i..i + MAX_K) {
        Some(w) => (le_u64(&w[..8]), le_u64(&w[8..])),
        None => load_window_tail(s, i),
    }
}

#[cold]
#[inline(never)]
fn load_window_tail(s: &[u8], i: usize) -> (u64, u64) {
    let mut buf = [0u8; MAX_K];
    let tail = s.get(i..).unwrap_or_default();
    let n = tail.len().min(MAX_K);
    buf[..n].copy_from_slice(&tail[..n]);
    (le_u64(&buf[..8]), le_u64(&buf[8..]))
}

/// Hash of a window given as two words: one 64×64→128-bit multiply, folded.
/// Every output bit depends on every input bit, which the filter (low bits),
/// the tag (middle bits) and the bucket (top bits) all need. Its weak inputs
/// (a word equal to a key) are not text, and a collision only costs a
/// verification.
#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let m = u128::from(a ^ 0x243F_6A88_85A3_08D3) * u128::from(b ^ 0x9E37_79B9_7F4A_7C15);
    (m as u64) ^ ((m >> 64) as u64)
}

/// Filter block of a hash among `n`: the top 32 bits scaled to `0..n`.
#[inline(always)]
fn bucket(h: u64, n: usize) -> usize {
    (((h >> 32) * n as u64) >> 32) as usize
}

/// The filter bits of a hash: one of [`FILTER_PATTERNS`] bit patterns of
/// [`FILTER_HASHES`] bits, picked by its low bits. A table look-up costs two
/// instructions where setting the bits one by one costs about fourteen, on
/// every probe and every sample; with a thousand patterns the filter lets
/// through hardly more than with independent bits.
#[inline(always)]
fn filter_bits(h: u64) -> u64 {
    FILTER_PATTERNS[(h as usize) & (FILTER_PATTERNS.len() - 1)]
}

/// Bit patterns of [`filter_bits`]: [`FILTER_HASHES`] distinct bits each,
/// drawn from a fixed pseudo-random sequence (splitmix64).
static FILTER_PATTERNS: [u64; 1024] = {
    let mut t = [0u64; 1024];
    let mut state = 0x005E_ED0F_B100_u64;
    let mut i = 0;
    while i < t.len() {
        let mut m = 0u64;
        while m.count_ones() < FILTER_HASHES {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            m |= 1u64 << (z >> 58);
        }
        t[i] = m;
        i += 1;
    }
    t
};

/// Little-endian `u64` of exactly eight bytes.
#[inline(always)]
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

/// The tag of a hash, in place in a slot: hash bits from 24 up (above the
/// filter bits, below the bucket bits of any context that has many groups).
#[inline]
fn tag_of(h: u64, sample_bits: u32) -> u32 {
    ((h >> 24) as u32).checked_shl(sample_bits).unwrap_or(0)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Chooses `(k, t, u)` for runs of at least `min_run` bytes: the window as
/// long as useful (a third of the run, at most 16 bytes), the context stride
/// `t` (see [`BUILD_VS_PROBE`]), and the largest output stride `u` coprime
/// with it. A full-length window may give up to three bytes when that makes
/// `u` larger (fewer probes; 13 bytes select as well as 16 for this).
fn parameters(min_run: usize) -> (usize, usize, usize) {
    let min_run = min_run.max(1);
    let top = (min_run / 3).clamp(1, MAX_K).min(min_run);
    let t = ((min_run - top + 1) / BUILD_VS_PROBE).isqrt().max(1);
    let shortest = if top == MAX_K { MAX_K - 3 } else { top };
    let mut best = (top, t, 1);
    for k in (shortest..=top).rev() {
        let room = min_run - k + 1; // t·u must not exceed this
        let mut u = room / t;
        while u > 1 && gcd(t, u) != 1 {
            u -= 1;
        }
        if u > best.2 {
            best = (k, t, u);
        }
    }
    best
}

/// Builds the filter, the group directory and the slots of `samples`
/// sample hashes (`hash(sample)`); also returns the longest group.
///
/// A counting sort by group in two passes, each hashing the samples again
/// (cheaper than storing and reading back the hashes): the first sets the
/// filter bits and counts the groups, the second writes each sample at its
/// group's cursor. The random accesses go to the filter and to the group
/// counts and cursors, which mostly stay in cache; each cursor writes
/// consecutive slots.
fn build(
    samples: usize,
    sample_bits: u32,
    hash: impl Fn(usize) -> u64,
) -> (Vec<u64>, Vec<u32>, Vec<u32>, usize) {
    let blocks = (samples * FILTER_BITS).div_ceil(64).max(1);
    let ngroups = blocks.div_ceil(GROUP_BLOCKS);
    let mut filter = vec![0u64; blocks];
    let mut groups = vec![0u32; ngroups + 1];
    for s in 0..samples {
        let h = hash(s);
        let b = bucket(h, blocks);
        filter[b] |= filter_bits(h);
        groups[b / GROUP_BLOCKS + 1] += 1;
    }
    let mut longest = 0;
    for g in 0..ngroups {
        longest = longest.max(groups[g + 1] as usize);
        groups[g + 1] += groups[g];
    }
    let mut slots = vec![0u32; samples];
    let mut next = groups.clone();
    for s in 0..samples {
        let h = hash(s);
        let g = bucket(h, blocks) / GROUP_BLOCKS;
        slots[next[g] as usize] = tag_of(h, sample_bits) | (s as u32 + 1);
        next[g] += 1;
    }
    (filter, groups, slots, longest)
}

impl ContextIndex {
    /// Indexes `context` so that any verbatim run longer than `max_echo`
    /// bytes of it is found in outputs.
    pub fn new(context: impl Into<Vec<u8>>, max_echo: usize) -> Self {
        let data: Vec<u8> = context.into();
        let (k, t, u) = parameters(max_echo.saturating_add(1));
        let mask_lo = u64::MAX >> (8 * (8 - k.min(8)));
        let mask_hi = if k > 8 { u64::MAX >> (8 * (16 - k)) } else { 0 };
        let samples = if data.len() >= k {
            (data.len() - k) / t + 1
        } else {
            0
        };
        let samples = samples.min(u32::MAX as usize - 1);
        let sample_bits = u32::BITS - (samples as u32 + 1).leading_zeros();
        let hash = |s: usize| {
            let (a, b) = load_window(&data, s * t);
            mix(a & mask_lo, b & mask_hi)
        };
        let (filter, groups, mut slots, longest) = build(samples, sample_bits, hash);
        let tmask = tag_mask(sample_bits);
        let mut entries = samples;
        if longest > LONG_GROUP {
            entries -= trim_long_groups(&groups, &mut slots, tmask, &data, k, t);
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
            mask_lo,
            mask_hi,
            filter,
            groups,
            slots,
            sample_bits,
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
        let u = self.u;
        let mut scan = Scan {
            phase,
            long_end: 0,
            runs,
        };
        let mut passed = Vec::new();
        // First probe at or after 0 with (phase + i) % u == 0; every probe
        // and every jump stays on that grid.
        let mut i = (u - phase % u) % u;
        while i + self.k <= out.len() {
            passed.clear();
            let after = self.filter_probes(out, i, i.saturating_add(CHUNK), &mut passed);
            self.load_groups(out, &passed);
            let mut next = i;
            for &p in &passed {
                // Probes inside a run already reported as too long are
                // skipped: that run is cut anyway.
                if p >= next {
                    next = self.probe(out, p, &mut scan);
                }
            }
            i = after.max(next);
        }
    }

    /// Asks for the filter words that [`find_runs`](Self::find_runs) will
    /// test on a short text `out` (phase 0), so that they are in cache by
    /// the time it runs. The scan of a decoded run calls it first, and the
    /// other detectors' work on the run hides the loads: a short text has
    /// too few probes for `find_runs`'s own pipeline, and each such call
    /// waited about one memory latency. Longer texts are left to that
    /// pipeline.
    pub(crate) fn prefetch_probes(&self, out: &[u8]) {
        const SHORT: usize = 4096;
        let prefetch = Prefetch::new();
        if !prefetch.is_active() || self.is_empty() || out.len() > SHORT {
            return;
        }
        let blocks = self.filter.len();
        let mut i = 0;
        while i + self.k <= out.len() {
            let (a, b) = load_window(out, i);
            let h = mix(a & self.mask_lo, b & self.mask_hi);
            prefetch.at(&self.filter, bucket(h, blocks));
            i += self.u;
        }
    }

    /// Tests the probes `i, i + u, ...` before `stop` (roughly: whole
    /// batches may go past it) against the filter, appending those that pass
    /// to `passed`; returns the next probe.
    ///
    /// A batch first computes every hash and filter position, then only
    /// loads and tests the filter words, so that the loads of many probes
    /// are in flight together (the filter is larger than L1; its loads wait
    /// on L2 or beyond). The batches are pipelined: a batch's filter words
    /// are prefetched when it is hashed, and tested after the next batch is
    /// hashed, and the output is prefetched [`AHEAD`] of the batch. With
    /// `u >= 16` each window is the start of its `u`-byte chunk, which
    /// spares the bounds checks, and 16-byte windows need no masking:
    /// instructions saved on every probe.
    fn filter_probes(&self, out: &[u8], i: usize, stop: usize, passed: &mut Vec<usize>) -> usize {
        match (self.u >= MAX_K, self.k == MAX_K) {
            (true, true) => self.filter_probes_in::<true, false>(out, i, stop, passed),
            (true, false) => self.filter_probes_in::<true, true>(out, i, stop, passed),
            (false, _) => self.filter_probes_in::<false, true>(out, i, stop, passed),
        }
    }

    #[inline(always)]
    fn filter_probes_in<const CHUNKED: bool, const MASKED: bool>(
        &self,
        out: &[u8],
        mut i: usize,
        stop: usize,
        passed: &mut Vec<usize>,
    ) -> usize {
        let u = self.u;
        let blocks = self.filter.len();
        let (mask_lo, mask_hi) = (self.mask_lo, self.mask_hi);
        let prefetch = Prefetch::new();
        // Two batches in flight: the one being hashed, and the one hashed
        // before it, whose filter words are on their way.
        let mut batches = [Batch::default(); 2];
        let mut pending: Option<usize> = None;
        let mut cur = 0;
        while i < stop && i + (BATCH - 1) * u + MAX_K <= out.len() {
            let batch = &mut batches[cur];
            batch.at = i;
            if CHUNKED {
                let window = &out[i..i + (BATCH - 1) * u + MAX_K];
                for j in 0..BATCH {
                    let Some(w) = window[j * u..].first_chunk::<MAX_K>() else {
                        break;
                    };
                    let (lo, hi) = w.split_at(8);
                    let (lo, hi) = (le_u64(lo), le_u64(hi));
                    let h = if MASKED {
                        mix(lo & mask_lo, hi & mask_hi)
                    } else {
                        mix(lo, hi)
                    };
                    batch.set(j, h, blocks);
                }
            } else {
                for j in 0..BATCH {
                    let p = i + j * u;
                    let w = &out[p..p + MAX_K];
                    batch.set(
                        j,
                        mix(le_u64(&w[..8]) & mask_lo, le_u64(&w[8..]) & mask_hi),
                        blocks,
                    );
                }
            }
            for line in (i + AHEAD..i + AHEAD + BATCH * u).step_by(64) {
                prefetch.at(out, line);
            }
            for &b in &batch.blk {
                prefetch.at(&self.filter, b as usize);
            }
            if let Some(before) = pending {
                self.test(&batches[before], BATCH, u, passed);
            }
            pending = Some(cur);
            cur ^= 1;
            i += BATCH * u;
        }
        if let Some(before) = pending {
            self.test(&batches[before], BATCH, u, passed);
        }
        // The rest (all the probes of a short text, such as a decoded run),
        // windows past the end of `out` padded: hashed first and tested
        // after, like a batch, so that their filter loads overlap too.
        while i < stop && i + self.k <= out.len() {
            let batch = &mut batches[0];
            batch.at = i;
            let mut n = 0;
            while n < BATCH && i < stop && i + self.k <= out.len() {
                let (a, b) = load_window(out, i);
                batch.set(n, mix(a & mask_lo, b & mask_hi), blocks);
                n += 1;
                i += u;
            }
            self.test(&batches[0], n, u, passed);
        }
        i
    }

    /// Tests the first `n` probes of `batch` against the filter.
    #[inline(always)]
    fn test(&self, batch: &Batch, n: usize, u: usize, passed: &mut Vec<usize>) {
        for j in 0..n.min(BATCH) {
            let want = batch.want[j];
            if self.filter[batch.blk[j] as usize] & want == want {
                passed.push(batch.at + j * u);
            }
        }
    }

    /// Asks for the table lines of the probes that passed the filter, all of
    /// them before any is followed, so that their cache misses overlap
    /// instead of each stalling its lookup. Without a prefetch instruction
    /// it loads them instead (loads overlap too, but each holds its place
    /// in the CPU until it arrives).
    fn load_groups(&self, out: &[u8], passed: &[usize]) {
        let prefetch = Prefetch::new();
        let blocks = self.filter.len();
        let mut acc = 0u32;
        for &p in passed {
            let (a, b) = load_window(out, p);
            let h = mix(a & self.mask_lo, b & self.mask_hi);
            let g = bucket(h, blocks) / GROUP_BLOCKS;
            let lo = self.groups[g] as usize;
            let hi = self.groups[g + 1] as usize;
            // One slot per cache line of the group, up to four lines.
            for j in (lo..hi).step_by(16).take(4) {
                if prefetch.is_active() {
                    prefetch.at(&self.slots, j);
                } else {
                    acc ^= self.slots[j];
                }
            }
        }
        std::hint::black_box(acc);
    }

    /// Follows a probe at output position `i` that passed the filter:
    /// records the longest run through it, if any, and returns the next
    /// position to probe.
    fn probe(&self, out: &[u8], i: usize, scan: &mut Scan<'_>) -> usize {
        let k = self.k;
        let u = self.u;
        // Backward extension never enters a run already reported as too
        // long (it will be cut), and never goes further back than the first
        // probe of a run can be from its start (`t·u + k`), which keeps the
        // work linear.
        let floor = scan.long_end.max(i.saturating_sub(self.t * u + k));
        let (Some(mut r), saturated) = self.longest_at(out, i, floor) else {
            return i + u;
        };
        if saturated && r.len() <= self.max_echo {
            self.past_the_edges(out, i, scan.long_end, &mut r);
        }
        let end = r.end;
        let long = r.len() > self.max_echo;
        if distinct_bytes(&out[r.clone()]) >= MIN_DISTINCT {
            match scan.runs.last_mut() {
                // The same quote seen again from a later probe, or a longer
                // run containing an earlier short one.
                Some(last) if last.span.start >= r.start && last.span.end <= r.end => {
                    last.span = r;
                }
                Some(last) if r.start >= last.span.start && r.end <= last.span.end => {}
                _ => scan.runs.push(EchoRun { span: r }),
            }
        }
        if long {
            // Everything up to `end` is cut anyway: jump past it, to the
            // first probe that may start a new run.
            scan.long_end = end;
            let from = end.saturating_sub(k - 1).max(i + 1);
            from + (u - (scan.phase + from) % u) % u
        } else {
            // A short quote must not hide a long run through the same
            // bytes on another diagonal: keep probing.
            i + u
        }
    }

    /// The window at `i` occurs at least [`MAX_CHAIN`] times in the context
    /// and `r`, its longest run through the occurrences followed, is short:
    /// the run may still be long through another occurrence. Such a run
    /// extends past an end of `r`, so a sampled window of it (`j ≡ i mod t`,
    /// the same diagonal) covers the byte just past that end; those windows
    /// are looked up, and `r` becomes the longest run found. This catches a
    /// repeated line whose unique part (an id, a timestamp) is not where the
    /// probe fell; it does not recurse.
    #[cold]
    fn past_the_edges(&self, out: &[u8], i: usize, long_end: usize, r: &mut Range<usize>) {
        let (k, t) = (self.k, self.t);
        let edges = [Some(r.end), r.start.checked_sub(1)];
        for edge in edges.into_iter().flatten() {
            // Windows [j, j + k) containing `edge`, on `i`'s residue.
            let lo = edge.saturating_sub(k - 1);
            let mut j = lo + (i % t + t - lo % t) % t;
            while j <= edge && j + k <= out.len() {
                if self.may_contain(out, j) {
                    // As far back as from the probe itself.
                    let floor = long_end.max(i.min(j).saturating_sub(t * self.u + k));
                    if let (Some(r2), _) = self.longest_at(out, j, floor) {
                        if r2.len() > r.len() {
                            *r = r2;
                        }
                    }
                }
                j += t;
            }
        }
    }

    /// Whether the window at `j` passes the filter.
    fn may_contain(&self, out: &[u8], j: usize) -> bool {
        let (a, b) = load_window(out, j);
        let h = mix(a & self.mask_lo, b & self.mask_hi);
        let bits = filter_bits(h);
        self.filter[bucket(h, self.filter.len())] & bits == bits
    }

    /// Longest common run through the output window at `i` and a context
    /// sample with the same window: the samples of its group with its tag
    /// are verified, up to [`MAX_CHAIN`] real matches; also whether that
    /// many matched (there may be more occurrences).
    fn longest_at(&self, out: &[u8], i: usize, floor: usize) -> (Option<Range<usize>>, bool) {
        let (a, b) = load_window(out, i);
        let window = (a & self.mask_lo, b & self.mask_hi);
        let h = mix(window.0, window.1);
        let g = bucket(h, self.filter.len()) / GROUP_BLOCKS;
        let tag = tag_of(h, self.sample_bits);
        let slots = &self.slots[self.groups[g] as usize..self.groups[g + 1] as usize];
        let mut best: Option<Range<usize>> = None;
        let mut matched = 0;
        for &v in slots {
            if v == 0 {
                break;
            }
            if v & self.tag_mask != tag {
                continue;
            }
            let q = ((v ^ tag) as usize - 1) * self.t;
            let (c, d) = load_window(&self.data, q);
            if (c & self.mask_lo, d & self.mask_hi) != window {
                continue;
            }
            let r = self.extend(out, i, q, floor);
            if best.as_ref().is_none_or(|x| r.len() > x.len()) {
                best = Some(r);
            }
            matched += 1;
            if matched >= MAX_CHAIN {
                break;
            }
        }
        (best, matched >= MAX_CHAIN)
    }

    /// Number of echo runs (long or short) that `find_runs` reports in
    /// `out`. For benchmarks only; not a stable API.
    #[doc(hidden)]
    pub fn echo_runs(&self, out: &[u8]) -> usize {
        let mut runs = Vec::new();
        self.find_runs(out, 0, &mut runs);
        runs.len()
    }

    /// Maximal common run through output `i` / context `q`, whose `k`-byte
    /// windows are equal; backwards no further than `floor`.
    fn extend(&self, out: &[u8], i: usize, q: usize, floor: usize) -> Range<usize> {
        let ctx = &self.data;
        let mut a = i;
        let mut b = q;
        while a >= floor + 8 && b >= 8 {
            let x = le_u64(&out[a - 8..a]) ^ le_u64(&ctx[b - 8..b]);
            if x != 0 {
                // Little-endian: the bytes nearest `a` are the high ones.
                let same = (x.leading_zeros() / 8) as usize;
                a -= same;
                b -= same;
                break;
            }
            a -= 8;
            b -= 8;
        }
        while a > floor && b > 0 && out[a - 1] == ctx[b - 1] {
            a -= 1;
            b -= 1;
        }
        let fwd = common_prefix(&out[i + self.k..], &ctx[q + self.k..]);
        a..i + self.k + fwd
    }
}

/// Keeps the first [`MAX_CHAIN`] occurrences of each window in every group
/// longer than [`LONG_GROUP`], packed at its start and followed by zeros;
/// returns how many were dropped. Only a context repeating windows many times
/// has such groups.
fn trim_long_groups(
    groups: &[u32],
    slots: &mut [u32],
    tag_mask: u32,
    data: &[u8],
    k: usize,
    t: usize,
) -> usize {
    let mut dropped = 0;
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for w in groups.windows(2) {
        let (lo, hi) = (w[0] as usize, w[1] as usize);
        if hi - lo <= LONG_GROUP {
            continue;
        }
        seen.clear();
        let mut keep = lo;
        for j in lo..hi {
            let v = slots[j];
            let q = ((v & !tag_mask) as usize - 1) * t;
            let n = seen.entry(&data[q..q + k]).or_insert(0);
            if *n < MAX_CHAIN {
                *n += 1;
                slots[keep] = v;
                keep += 1;
            }
        }
        dropped += hi - keep;
        slots[keep..hi].fill(0);
    }
    dropped
}

/// Length of the common prefix, eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = le_u64(&a[i..i + 8]) ^ le_u64(&b[i..i + 8]);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
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

    /// Deterministic pseudo-random bytes (xorshift).
    fn noise(seed: u64, n: usize) -> impl Iterator<Item = u64> {
        let mut x = seed | 1;
        (0..n).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
    }

    /// Text-like context from a 40-byte alphabet without `#`.
    fn text(seed: u64, n: usize) -> Vec<u8> {
        const ALPHA: &[u8; 40] = b"abcdefghijklmnopqrstuvwxyz0123456789 .,;";
        noise(seed, n)
            .map(|x| ALPHA[(x >> 20) as usize % 40])
            .collect()
    }

    fn runs_of(idx: &ContextIndex, out: &[u8], phase: usize) -> Vec<EchoRun> {
        let mut runs = Vec::new();
        idx.find_runs(out, phase, &mut runs);
        runs
    }

    #[test]
    fn parameters_guarantee_the_run_length() {
        for l in 0..3000 {
            let (k, t, u) = parameters(l + 1);
            assert!(k + t * u - 1 <= l + 1, "l={l} k={k} t={t} u={u}");
            assert!(k >= 1 && t >= 1 && u >= 1);
            assert_eq!(gcd(t, u), 1);
        }
        // The default: 15-byte windows, every third context position, every
        // 17th output position.
        assert_eq!(parameters(65), (15, 3, 17));
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
                let runs = runs_of(&idx, &out, 0);
                assert!(
                    runs.iter().any(|r| r.span.len() >= 65),
                    "start {start} pad {pad}: {runs:?}"
                );
            }
        }
    }

    /// A run of exactly `max_echo + 1` bytes is found with its exact extent
    /// for every alignment of context and output (every residue of the
    /// context start mod `t`, of the output start mod `u`), for several
    /// stream phases, and when the output is the tail of a chunked stream.
    #[test]
    fn long_runs_are_found_at_every_alignment() {
        for max_echo in [8usize, 32, 64, 200, 1000] {
            let len = max_echo + 1;
            let ctx = text(max_echo as u64, 3 * len + 5000);
            let idx = ContextIndex::new(ctx.clone(), max_echo);
            assert!(idx.guaranteed_run() <= len);
            let (t, u) = (idx.t, idx.u);
            let starts = (0..t).chain([ctx.len() / 2, ctx.len() - len]);
            for start in starts {
                let run = &ctx[start..start + len];
                if distinct_bytes(run) < MIN_DISTINCT {
                    continue;
                }
                for pad in 0..u + 1 {
                    let mut out = vec![b'#'; pad];
                    out.extend_from_slice(run);
                    out.extend_from_slice(b"#####");
                    for phase in [0, 1, 7, 1_000_003] {
                        let runs = runs_of(&idx, &out, phase);
                        assert!(
                            runs.iter().any(|r| r.span == (pad..pad + len)),
                            "max_echo {max_echo} start {start} pad {pad} phase {phase}: {runs:?}"
                        );
                    }
                    // The same output as the tail of a stream cut at `cut`.
                    let cut = pad / 2;
                    let runs = runs_of(&idx, &out[cut..], cut);
                    assert!(
                        runs.iter().any(|r| r.span == (pad - cut..pad - cut + len)),
                        "max_echo {max_echo} start {start} pad {pad} cut {cut}: {runs:?}"
                    );
                }
            }
        }
    }

    /// Many long runs in an output far longer than a chunk, some adjacent,
    /// some crossing chunk boundaries: all found, each with its extent.
    #[test]
    fn long_runs_are_found_across_chunks() {
        let ctx = text(5, 200_000);
        let idx = ContextIndex::new(ctx.clone(), 64);
        let mut out = Vec::new();
        let mut planted = Vec::new();
        for (j, x) in noise(9, 400).enumerate() {
            let len = 65 + (x % 300) as usize;
            let start = (x >> 16) as usize % (ctx.len() - len);
            let gap = if j % 5 == 0 {
                1
            } else {
                (x >> 40) as usize % 700 + 1
            };
            out.extend(std::iter::repeat_n(b'#', gap));
            planted.push(out.len()..out.len() + len);
            out.extend_from_slice(&ctx[start..start + len]);
        }
        out.extend_from_slice(b"#");
        assert!(out.len() > 4 * CHUNK);
        let runs = runs_of(&idx, &out, 0);
        for p in &planted {
            assert!(
                runs.iter()
                    .any(|r| r.span.start <= p.start && r.span.end >= p.end),
                "{p:?} not found"
            );
        }
        for r in &runs {
            assert!(
                planted
                    .iter()
                    .any(|p| p.start <= r.span.start && r.span.end <= p.end),
                "{r:?} is not planted"
            );
        }
    }

    /// Over the `t·u` alignments, a quote of `len` bytes is found in exactly
    /// `len - k + 1` of them: the probability `estimate_released` inverts.
    #[test]
    fn short_quotes_are_found_as_often_as_estimated() {
        let ctx = text(3, 20_000);
        let idx = ContextIndex::new(ctx.clone(), 64);
        let (k, t, u) = (idx.k, idx.t, idx.u);
        for len in [k, k + 1, 30, 47, idx.guaranteed_run() - 1] {
            let mut found = 0;
            for start in 1000..1000 + t {
                for pad in 0..u {
                    let mut out = vec![b'#'; pad];
                    out.extend_from_slice(&ctx[start..start + len]);
                    out.push(b'#');
                    found +=
                        usize::from(runs_of(&idx, &out, 0).iter().any(|r| r.span.len() == len));
                }
            }
            assert_eq!(found, len - k + 1, "len {len}");
            let expected = (len * t * u).div_ceil(len - k + 1);
            assert_eq!(idx.estimate_released(len), expected);
        }
        assert_eq!(idx.estimate_released(100), 100);
    }

    /// Unrelated data: nothing is reported, and whatever is reported on an
    /// output mixing quotes and noise really occurs in the context.
    #[test]
    fn reports_no_false_runs() {
        let ctx: Vec<u8> = noise(1, 300_000).map(|x| (x >> 24) as u8).collect();
        let out: Vec<u8> = noise(2, 1_000_000).map(|x| (x >> 24) as u8).collect();
        for max_echo in [8, 64, 1000] {
            let idx = ContextIndex::new(ctx.clone(), max_echo);
            assert_eq!(runs_of(&idx, &out, 0), Vec::new(), "max_echo {max_echo}");
        }
        let ctx = text(11, 50_000);
        let idx = ContextIndex::new(ctx.clone(), 64);
        let mut out = text(12, 1000);
        for x in noise(13, 200) {
            let len = 5 + (x % 100) as usize;
            let start = (x >> 20) as usize % (ctx.len() - len);
            out.extend_from_slice(&ctx[start..start + len]);
            out.extend(text(x, (x >> 50) as usize % 50));
        }
        let runs = runs_of(&idx, &out, 0);
        assert!(!runs.is_empty());
        for r in runs {
            let s = &out[r.span.clone()];
            assert!(s.len() >= idx.k);
            assert!(
                ctx.windows(s.len()).any(|w| w == s),
                "{r:?} not in the context"
            );
        }
    }

    /// A log-like context repeats most of its windows thousands of times:
    /// the build trims them, lookups stay short, and runs through the
    /// repeated part, the unique part, or both are still found.
    #[test]
    fn repetitive_context() {
        let mut ctx = Vec::new();
        for n in 0..20_000u32 {
            ctx.extend_from_slice(b"2024-01-01 INFO [worker] request handled, status ok id=");
            ctx.extend_from_slice(format!("{:08x}\n", n.wrapping_mul(2654435761)).as_bytes());
        }
        let idx = ContextIndex::new(ctx.clone(), 64);
        assert!(idx.entries < (ctx.len() - idx.k) / idx.t + 1, "{idx:?}");
        let line = 56 + 9;
        let mut missed = Vec::new();
        for n in [5, 777, 19_000] {
            for offset in 0..line {
                for pad in 0..idx.u {
                    let from = n * line + offset;
                    let mut out = vec![b'#'; pad];
                    out.extend_from_slice(&ctx[from..from + 65]);
                    out.extend_from_slice(b"##");
                    if !runs_of(&idx, &out, 0).iter().any(|r| r.span.len() >= 65) {
                        missed.push((n, offset, pad));
                    }
                }
            }
        }
        assert_eq!(missed, [], "{idx:?}");
    }

    #[test]
    fn debug_does_not_show_the_context() {
        let idx = ContextIndex::new(b"the secret plan is to meet at noon".to_vec(), 8);
        let shown = format!("{idx:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("noon"),
            "{shown}"
        );
    }

    #[test]
    fn empty_and_tiny_contexts() {
        assert!(ContextIndex::empty(64).is_empty());
        assert_eq!(
            runs_of(&ContextIndex::empty(64), b"anything at all here", 0),
            []
        );
        let idx = ContextIndex::new(b"abcdefghijklmnopq".to_vec(), 8);
        assert!(!idx.is_empty());
        let runs = runs_of(&idx, b"##abcdefghijklmnopq##", 3);
        assert_eq!(runs, [EchoRun { span: 2..19 }]);
    }

    #[test]
    fn prefetching_probes_changes_nothing() {
        let ctx = text(5, 20_000);
        let idx = ContextIndex::new(ctx.clone(), 64);
        let mut out = text(6, 300);
        out.extend_from_slice(&ctx[1000..1200]);
        for len in [0, 1, 15, 16, 17, 100, out.len()] {
            let before = runs_of(&idx, &out[..len], 0);
            idx.prefetch_probes(&out[..len]);
            ContextIndex::empty(64).prefetch_probes(&out[..len]);
            assert_eq!(runs_of(&idx, &out[..len], 0), before);
        }
        idx.prefetch_probes(&text(7, 10_000));
    }
}

//! The keyword search of the rules' text pass, done inside the classifying
//! pass on CPUs with AVX-512.
//!
//! The rules' keywords (`PRIVATE KEY`, `://`, `bearer`, ...) are searched in
//! the whole output. `aho-corasick` does it in a pass of its own with its
//! AVX2 Teddy searcher, 32 bytes a step, over a text that has left the
//! nearer caches since the classifying pass read it. This module runs the
//! same kind of search (Teddy's: each keyword's first three bytes looked up
//! by their nibbles in small tables, eight buckets of keywords, a bit each)
//! on the classifying pass's 64-byte blocks while they are in the nearest
//! cache, and verifies the candidates there.
//!
//! The hits are those of a leftmost-longest, non-overlapping search (what
//! the automaton it replaces reports, with the same pattern numbers):
//! candidates are taken in text order, each one starting inside the last
//! hit is skipped, and among the keywords matching at a position the
//! longest wins. On other CPUs the automaton runs as before.

/// Bytes of each keyword looked up before a candidate is verified.
const FINGERPRINT: usize = 3;

/// Groups of keywords, one bit each in the tables.
const BUCKETS: usize = 8;

/// A keyword found in the text: its span and its number in the list the
/// search was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeywordHit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) pattern: usize,
}

/// The keywords, their buckets, and the nibble tables of their first
/// [`FINGERPRINT`] bytes.
pub(crate) struct KeywordSearch {
    patterns: Vec<Box<[u8]>>,
    /// Keyword numbers of each bucket.
    buckets: [Vec<usize>; BUCKETS],
    /// For fingerprint byte `j`: bit `b` of entry `n` is set when a keyword
    /// of bucket `b` has a byte with low nibble `n` there. Sixteen entries,
    /// repeated in each 128-bit lane (a byte shuffle looks up within its
    /// lane).
    lo: [[u8; 64]; FINGERPRINT],
    /// The same for the high nibbles.
    hi: [[u8; 64]; FINGERPRINT],
}

impl std::fmt::Debug for KeywordSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywordSearch")
            .field("patterns", &self.patterns.len())
            .field("buckets", &self.buckets)
            .finish()
    }
}

impl KeywordSearch {
    /// The search for `keywords`, or `None` when it cannot stand in for the
    /// automaton: a keyword shorter than the fingerprint, or a CPU without
    /// AVX-512.
    pub(crate) fn new<K: AsRef<[u8]>>(keywords: &[K]) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        pulp::x86::V4::try_new()?;
        #[cfg(not(target_arch = "x86_64"))]
        return None;
        let patterns: Vec<Box<[u8]>> = keywords.iter().map(|k| k.as_ref().into()).collect();
        if patterns.is_empty() || patterns.iter().any(|p| p.len() < FINGERPRINT) {
            return None;
        }
        let buckets = assign_buckets(&patterns);
        let (mut lo, mut hi) = ([[0u8; 64]; FINGERPRINT], [[0u8; 64]; FINGERPRINT]);
        for (b, members) in buckets.iter().enumerate() {
            for &p in members {
                for (j, &byte) in patterns[p][..FINGERPRINT].iter().enumerate() {
                    for lane in 0..4 {
                        lo[j][16 * lane + usize::from(byte & 0xf)] |= 1 << b;
                        hi[j][16 * lane + usize::from(byte >> 4)] |= 1 << b;
                    }
                }
            }
        }
        Some(KeywordSearch {
            patterns,
            buckets,
            lo,
            hi,
        })
    }

    /// Candidate starts in a block: bit `i` of the mask is set when some
    /// bucket's fingerprint matches at byte `i` of `x[0]`, whose bytes
    /// shifted by one and by two are `x[1]` and `x[2]`; byte `i` of the
    /// vector holds the matching buckets (read it only when the mask is
    /// not zero: storing it on every block costs a store).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub(crate) fn candidates(
        &self,
        simd: pulp::x86::V4,
        x: [&[u8; 64]; 3],
    ) -> (u64, core::arch::x86_64::__m512i) {
        use core::arch::x86_64::__m512i;
        let nibble = simd.avx512f._mm512_set1_epi8(0x0f);
        let mut acc = simd.avx512f._mm512_set1_epi8(-1);
        for (j, bytes) in x.into_iter().enumerate() {
            let v: __m512i = pulp::cast(*bytes);
            let lo_idx = simd.avx512f._mm512_and_si512(v, nibble);
            let hi_idx = simd
                .avx512f
                ._mm512_and_si512(simd.avx512bw._mm512_srli_epi16::<4>(v), nibble);
            let lo_tbl: __m512i = pulp::cast(self.lo[j]);
            let hi_tbl: __m512i = pulp::cast(self.hi[j]);
            let m = simd.avx512f._mm512_and_si512(
                simd.avx512bw._mm512_shuffle_epi8(lo_tbl, lo_idx),
                simd.avx512bw._mm512_shuffle_epi8(hi_tbl, hi_idx),
            );
            acc = simd.avx512f._mm512_and_si512(acc, m);
        }
        (simd.avx512bw._mm512_test_epi8_mask(acc, acc), acc)
    }

    /// The longest keyword of `buckets` at `text[i..]`, as a hit.
    #[inline]
    pub(crate) fn verify(&self, text: &[u8], i: usize, buckets: u8) -> Option<KeywordHit> {
        let rest = text.get(i..)?;
        let mut best: Option<KeywordHit> = None;
        let mut bits = buckets;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            for &p in &self.buckets[b] {
                let pat = &self.patterns[p];
                if rest.starts_with(pat) && best.is_none_or(|h| pat.len() > h.end - h.start) {
                    best = Some(KeywordHit {
                        start: i,
                        end: i + pat.len(),
                        pattern: p,
                    });
                }
            }
        }
        best
    }
}

/// Keywords into [`BUCKETS`] groups: spellings of one word together (their
/// fingerprints differ only in case), then, while there are too many
/// groups, the two whose union lets the fewest byte combinations through.
fn assign_buckets(patterns: &[Box<[u8]>]) -> [Vec<usize>; BUCKETS] {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (p, pat) in patterns.iter().enumerate() {
        let key = pat.to_ascii_lowercase();
        match groups
            .iter_mut()
            .find(|g| patterns[g[0]].to_ascii_lowercase() == key)
        {
            Some(g) => g.push(p),
            None => groups.push(vec![p]),
        }
    }
    // Combinations a group's tables accept: per fingerprint byte, the
    // distinct low nibbles times the distinct high nibbles.
    let spread = |members: &[usize]| -> u64 {
        (0..FINGERPRINT)
            .map(|j| {
                let (mut lo, mut hi) = (0u16, 0u16);
                for &p in members {
                    lo |= 1 << (patterns[p][j] & 0xf);
                    hi |= 1 << (patterns[p][j] >> 4);
                }
                u64::from(lo.count_ones() * hi.count_ones())
            })
            .product()
    };
    while groups.len() > BUCKETS {
        let mut best = (u64::MAX, 0, 1);
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let union: Vec<usize> = groups[a].iter().chain(&groups[b]).copied().collect();
                let cost = spread(&union);
                if cost < best.0 {
                    best = (cost, a, b);
                }
            }
        }
        let merged = groups.remove(best.2);
        groups[best.1].extend(merged);
    }
    let mut buckets: [Vec<usize>; BUCKETS] = Default::default();
    for (b, g) in groups.into_iter().enumerate() {
        buckets[b] = g;
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_every_keyword_once() {
        let words: Vec<String> = (0..40).map(|i| format!("k{i:02}x")).collect();
        let b = assign_buckets(
            &words
                .iter()
                .map(|w| w.as_bytes().into())
                .collect::<Vec<_>>(),
        );
        let mut all: Vec<usize> = b.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
        let cased = ["bearer", "Bearer", "BEARER", "://", "xox"];
        let b = assign_buckets(
            &cased
                .iter()
                .map(|w| w.as_bytes().into())
                .collect::<Vec<_>>(),
        );
        assert!(b.iter().any(|g| g == &[0, 1, 2]), "{b:?}");
    }

    #[test]
    fn too_short_keywords_are_left_to_the_automaton() {
        assert!(KeywordSearch::new(&["ab", "abcd"]).is_none());
        assert!(KeywordSearch::new::<&str>(&[]).is_none());
    }
}

//! One pass over the text in 64-byte blocks, telling every later stage
//! where to look: a whole block per AVX-512 comparison on CPUs that have
//! it (found at run time; `pulp` wraps the intrinsics safely), sixteen
//! bytes per SSE2 instruction on the others.
//!
//! Per block it yields a bit mask of token bytes (`[A-Za-z0-9+/_-]`: where
//! keys, tokens and encodings can be), the bytes that anchor rules (`=`,
//! `:`, `>` of `key = value` operators, not after a digit and only where
//! the key may be one a rule names; `~` of Azure secrets and `%` of
//! percent-encoding), and counts of NUL and control bytes (binary
//! sniffing). Each separate pass over a 20 MB output costs milliseconds
//! (the text does not fit in the nearer caches), so these share one, and
//! what later stages would read of the text around an operator is judged
//! here while its block is in cache; everything after it works per run or
//! per anchor, not per byte.

use wide::{i8x16, u8x16, CmpEq, CmpLt};

use crate::prefetch::{Prefetch, AHEAD};

/// The classes of one 64-byte block (bytes past the end count as nothing).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Block {
    /// Bit `i`: byte `i` is a token byte.
    pub(crate) tok: u64,
    /// Bit `i`: byte `i` is `=`, `:` or `>`.
    pub(crate) anchors: u64,
    /// Bit `i`: byte `i` is `~` or `%` (rare in text).
    pub(crate) rare: u64,
    /// NUL bytes.
    pub(crate) nuls: u32,
    /// Control bytes other than `\t \n \r \f \b` and ESC.
    pub(crate) controls: u32,
    /// Bit `i`: byte `i` is an ASCII digit.
    pub(crate) digits: u64,
}

/// The classes of sixteen bytes: masks of token bytes, anchors and digits,
/// and the vectors of the rare classes (`~`/`%`, bytes below 0x20 but the
/// newline), which `block` turns into masks only when it meets any.
#[inline]
fn classes16(q: [u8; 16]) -> (u32, u32, u32, i8x16, i8x16) {
    let x = i8x16::new(q.map(|b| b as i8));
    let splat = |b: u8| i8x16::splat(b as i8);
    // Bytes in `lo..lo + width`: moved so that `lo` lands on -128, then one
    // signed comparison (SSE2 has no unsigned one).
    let in_range = |v: i8x16, lo: u8, width: u8| {
        (v + splat(0x80u8.wrapping_sub(lo))).cmp_lt(splat(0x80u8.wrapping_add(width)))
    };
    let digits = in_range(x, b'0', 10);
    let tok = in_range(x | splat(0x20), b'a', 26)
        | digits
        | x.cmp_eq(splat(b'+'))
        | x.cmp_eq(splat(b'/'))
        | x.cmp_eq(splat(b'-'))
        | x.cmp_eq(splat(b'_'));
    let anchors = x.cmp_eq(splat(b'=')) | x.cmp_eq(splat(b':')) | x.cmp_eq(splat(b'>'));
    let rare = x.cmp_eq(splat(b'~')) | x.cmp_eq(splat(b'%'));
    let low = in_range(x, 0, 0x20) & !x.cmp_eq(splat(b'\n'));
    (
        tok.move_mask() as u32 & 0xffff,
        anchors.move_mask() as u32 & 0xffff,
        digits.move_mask() as u32 & 0xffff,
        rare,
        low,
    )
}

/// The classes of a 64-byte block of which the first `len` bytes are text,
/// sixteen bytes per SSE2 instruction (every x86-64 has it).
#[inline]
fn block(bytes: &[u8], len: usize) -> Block {
    let (mut tok, mut anchors, mut digits) = (0u64, 0u64, 0u64);
    let zero = i8x16::splat(0);
    let (mut rare, mut low) = ([zero; 4], [zero; 4]);
    for (k, chunk) in bytes.chunks_exact(16).enumerate() {
        let mut quarter = [0u8; 16];
        quarter.copy_from_slice(chunk);
        let (t, an, d, r, l) = classes16(quarter);
        let shift = 16 * k;
        tok |= u64::from(t) << shift;
        anchors |= u64::from(an) << shift;
        digits |= u64::from(d) << shift;
        rare[k % 4] = r;
        low[k % 4] = l;
    }
    // Rare classes: one test for the whole block, masks only if needed.
    let mask64 = |v: &[i8x16; 4]| {
        if (v[0] | v[1] | v[2] | v[3]).any() {
            v.iter().enumerate().fold(0u64, |m, (k, q)| {
                m | u64::from(q.move_mask() as u32 & 0xffff) << (16 * k)
            })
        } else {
            0
        }
    };
    let masks = Masks {
        tok,
        anchors,
        digits,
        rare: mask64(&rare),
        low: mask64(&low),
    };
    masks.into_block(bytes, len)
}

/// The bit masks of one 64-byte block, before the padding of a last
/// partial block is cleared and the low bytes are counted.
struct Masks {
    tok: u64,
    anchors: u64,
    digits: u64,
    rare: u64,
    /// Bytes below 0x20 but the newline.
    low: u64,
}

impl Masks {
    #[inline(always)]
    fn into_block(self, bytes: &[u8], len: usize) -> Block {
        let mut out = Block {
            tok: self.tok,
            anchors: self.anchors,
            rare: self.rare,
            nuls: 0,
            controls: 0,
            digits: self.digits,
        };
        let mut low = self.low;
        // The zero padding of a last partial block is not text.
        if len < 64 {
            let real = (1u64 << len) - 1;
            out.tok &= real;
            out.anchors &= real;
            out.rare &= real;
            low &= real;
        }
        while low != 0 {
            let b = bytes[low.trailing_zeros() as usize];
            out.nuls += u32::from(b == 0);
            out.controls += u32::from(!matches!(b, b'\r' | b'\t' | 0x1b | 0x0c | 0x08));
            low &= low - 1;
        }
        out
    }
}

/// The classes of a 64-byte block in one AVX-512 instruction per class:
/// the comparisons give bit masks directly, where SSE2 needs four loads,
/// four comparisons and four movemasks per class.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_avx512(simd: pulp::x86::V4, bytes: &[u8], len: usize) -> Block {
    let Some(whole) = bytes.first_chunk::<64>() else {
        return block(bytes, len);
    };
    let x: pulp::u8x64 = pulp::cast(*whole);
    let splat = |b: u8| simd.splat_u8x64(b);
    let in_range = |v: pulp::u8x64, lo: u8, width: u8| in_range_x64(simd, v, lo, width);
    let eq = |b: u8| simd.cmp_eq_u8x64(x, splat(b)).0;
    let digits = in_range(x, b'0', 10);
    let masks = Masks {
        tok: in_range(simd.or_u8x64(x, splat(0x20)), b'a', 26)
            | digits
            | eq(b'+')
            | eq(b'/')
            | eq(b'-')
            | eq(b'_'),
        anchors: eq(b'=') | eq(b':') | eq(b'>'),
        digits,
        rare: eq(b'~') | eq(b'%'),
        low: simd.cmp_lt_u8x64(x, splat(0x20)).0 & !eq(b'\n'),
    };
    masks.into_block(bytes, len)
}

/// The mask of the bytes of `v` in `lo..lo + width`: one wrapping
/// subtraction, one unsigned comparison.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn in_range_x64(simd: pulp::x86::V4, v: pulp::u8x64, lo: u8, width: u8) -> u64 {
    let splat = |b: u8| simd.splat_u8x64(b);
    simd.cmp_lt_u8x64(simd.wrapping_sub_u8x64(v, splat(lo)), splat(width))
        .0
}

/// Lanes of `v` in `lo..lo + width` (`width >= 1`) set to all ones: one
/// wrapping subtraction and an unsigned minimum (SSE2 has no unsigned
/// comparison).
#[inline(always)]
pub(crate) fn in_range(v: u8x16, lo: u8, width: u8) -> u8x16 {
    let d = v - u8x16::splat(lo);
    d.min(u8x16::splat(width - 1)).cmp_eq(d)
}

/// The OR, over `run`, of its bytes' classes as [`crate::encoded`] flags
/// them (`UPPER`, `NONHEX`, `DIGIT`, `URLSAFE`, `STDSYM`), sixteen bytes
/// per step. Meant for token runs: other bytes add nothing.
pub(crate) fn run_flags(run: &[u8]) -> u8 {
    use crate::encoded::{DIGIT, NONHEX, STDSYM, UPPER, URLSAFE};
    let Some(&first) = run.first() else {
        return 0;
    };
    let splat = u8x16::splat;
    let zero = splat(0);
    let (mut up, mut nonhex, mut digit, mut url, mut sym) = (zero, zero, zero, zero, zero);
    let mut add = |q: &[u8; 16]| {
        let x = u8x16::new(*q);
        up |= in_range(x, b'A', 26);
        nonhex |= in_range(x | splat(0x20), b'g', 20);
        digit |= in_range(x, b'0', 10);
        url |= x.cmp_eq(splat(b'-')) | x.cmp_eq(splat(b'_'));
        sym |= x.cmp_eq(splat(b'+')) | x.cmp_eq(splat(b'/'));
    };
    let chunks = run.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        let mut q = [0u8; 16];
        q.copy_from_slice(chunk);
        add(&q);
    }
    if !rest.is_empty() {
        // The last sixteen bytes again (an OR does not mind the overlap),
        // or the short run padded with its own first byte.
        let mut last = [first; 16];
        match run.len().checked_sub(16) {
            Some(from) => last.copy_from_slice(&run[from..]),
            None => last[..run.len()].copy_from_slice(run),
        }
        add(&last);
    }
    let mut f = 0u8;
    for (v, flag) in [
        (up, UPPER),
        (nonhex, NONHEX),
        (digit, DIGIT),
        (url, URLSAFE),
        (sym, STDSYM),
    ] {
        if v.any() {
            f |= flag;
        }
    }
    f
}

/// [`run_flags`] of `text[span]`, in one AVX-512 step when the run has at
/// most 64 bytes and 64 bytes of text follow its start (most runs: words,
/// ids, digests, keys); longer ones sixteen bytes a step as there.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn run_flags_avx512(
    simd: pulp::x86::V4,
    text: &[u8],
    span: std::ops::Range<usize>,
) -> u8 {
    use crate::encoded::{DIGIT, NONHEX, STDSYM, UPPER, URLSAFE};
    let len = span.len();
    let chunk = match text.get(span.start..).and_then(|t| t.first_chunk::<64>()) {
        Some(c) if (1..=64).contains(&len) => c,
        _ => return run_flags(&text[span]),
    };
    let x: pulp::u8x64 = pulp::cast(*chunk);
    // The run's own bytes: the rest of the 64 is what follows it.
    let keep = u64::MAX >> (64 - len);
    let splat = |b: u8| simd.splat_u8x64(b);
    let in_range = |v: pulp::u8x64, lo: u8, width: u8| in_range_x64(simd, v, lo, width) & keep;
    let eq = |b: u8| simd.cmp_eq_u8x64(x, splat(b)).0 & keep;
    let mut f = 0u8;
    if in_range(x, b'A', 26) != 0 {
        f |= UPPER;
    }
    if in_range(simd.or_u8x64(x, splat(0x20)), b'g', 20) != 0 {
        f |= NONHEX;
    }
    if in_range(x, b'0', 10) != 0 {
        f |= DIGIT;
    }
    if eq(b'-') | eq(b'_') != 0 {
        f |= URLSAFE;
    }
    if eq(b'+') | eq(b'/') != 0 {
        f |= STDSYM;
    }
    f
}

/// What the classifying pass learns about a whole text.
#[derive(Debug, Default)]
pub(crate) struct Classes {
    /// Token-byte mask of every 64-byte block, in order.
    pub(crate) tok: Vec<u64>,
    /// Positions of `=`, `:` and `>`, in order, that open an operator site
    /// whose key may be one a rule names
    /// ([`crate::assignment::may_anchor_named_site`]); those right after a
    /// digit (`10:30:00`, `x2=`, `3>2`) are dropped first, by mask: no key
    /// a rule names ends with one, and `=>`/`->` have no digit before the
    /// `>`.
    pub(crate) anchors: Vec<usize>,
    /// Positions of `~` and `%`, in order.
    pub(crate) rare: Vec<usize>,
    /// NUL bytes in the text.
    pub(crate) nuls: usize,
    /// Control bytes in the text (see [`Block::controls`]).
    pub(crate) controls: usize,
}

/// Classifies all of `text`, with AVX-512 where the CPU has it (checked at
/// run time; the build stays portable), else with SSE2.
pub(crate) fn classify(text: &[u8]) -> Classes {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V4::try_new() {
        // The whole loop is compiled with the CPU's features, so the block
        // function inlines into it.
        return simd.vectorize(|| classify_with(text, |b, len| block_avx512(simd, b, len)));
    }
    classify_sse2(text)
}

/// [`classify`] on SSE2 alone.
pub(crate) fn classify_sse2(text: &[u8]) -> Classes {
    classify_with(text, block)
}

#[inline(always)]
fn classify_with(text: &[u8], block: impl Fn(&[u8], usize) -> Block) -> Classes {
    let blocks = text.len().div_ceil(64);
    let mut c = Classes {
        tok: Vec::with_capacity(blocks),
        anchors: Vec::with_capacity(text.len() / 32),
        ..Classes::default()
    };
    let whole = text.chunks_exact(64);
    let rest = whole.remainder();
    let mut last = [0u8; 64];
    last[..rest.len()].copy_from_slice(rest);
    let tail = (!rest.is_empty()).then_some((&last[..], rest.len()));
    // Whether the byte before the block is a digit.
    let mut digit_before = 0u64;
    let prefetch = Prefetch::new();
    for (k, (bytes, len)) in whole.map(|b| (b, 64)).chain(tail).enumerate() {
        let pos = 64 * k;
        prefetch.at(text, pos + AHEAD);
        let b = block(bytes, len);
        c.tok.push(b.tok);
        c.nuls += b.nuls as usize;
        c.controls += b.controls as usize;
        let after_digit = b.digits << 1 | digit_before;
        digit_before = b.digits >> 63;
        let mut a = b.anchors & !after_digit;
        let mut r = b.rare;
        while r != 0 {
            c.rare.push(pos + r.trailing_zeros() as usize);
            r &= r - 1;
        }
        while a != 0 {
            let p = pos + a.trailing_zeros() as usize;
            // Judged now, while the block is in cache; later the text is not.
            if crate::assignment::may_anchor_named_site(text, p) {
                c.anchors.push(p);
            }
            a &= a - 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_a_byte_at_a_time_reading() {
        let mut text: Vec<u8> = (0..=255u8).collect();
        text.extend_from_slice(b"key=value: a => b ~ AKIA0123456789ABCDEF\0\x01\x02\n\t");
        for len in [0, 1, 63, 64, 65, 127, 128, 200, text.len()] {
            let t = &text[..len.min(text.len())];
            for c in [classify(t), classify_sse2(t)] {
                for (i, &b) in t.iter().enumerate() {
                    let tok = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
                    assert_eq!(c.tok[i / 64] >> (i % 64) & 1 == 1, tok, "byte {b:#x}");
                }
                let anchors: Vec<usize> = t
                    .iter()
                    .enumerate()
                    .filter(|&(i, &b)| {
                        matches!(b, b'=' | b':' | b'>')
                            && !(i > 0 && t[i - 1].is_ascii_digit())
                            && crate::assignment::may_anchor_named_site(t, i)
                    })
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(c.anchors, anchors);
                let rare: Vec<usize> = (0..t.len())
                    .filter(|&i| matches!(t[i], b'~' | b'%'))
                    .collect();
                assert_eq!(c.rare, rare);
                let nuls = t.iter().filter(|&&b| b == 0).count();
                let controls = t
                    .iter()
                    .filter(|&&b| {
                        b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b | 0x0c | 0x08)
                    })
                    .count();
                assert_eq!((c.nuls, c.controls), (nuls, controls));
            }
        }
    }

    #[test]
    fn both_instruction_sets_classify_alike() {
        // Bytes drawn mostly from the classes' edges, at every length and
        // offset of a few blocks.
        const EDGES: &[u8] = b"\0\x01\t\n\r\x1b\x1f !%+-./09:;=>@AZ[_`az{~\x7f\x80\xff";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut text = Vec::new();
        for _ in 0..4096 {
            crate::testing::xorshift(&mut state);
            let b = if state % 4 == 0 {
                (state >> 8) as u8
            } else {
                EDGES[(state >> 8) as usize % EDGES.len()]
            };
            text.push(b);
        }
        for len in (0..300).chain([1000, 4095, 4096]) {
            for from in [0, 1, 63] {
                let t = &text[from..(from + len).min(text.len())];
                let (a, b) = (classify(t), classify_sse2(t));
                assert_eq!(a.tok, b.tok, "len {len} from {from}");
                assert_eq!(a.anchors, b.anchors, "len {len} from {from}");
                assert_eq!(a.rare, b.rare, "len {len} from {from}");
                assert_eq!((a.nuls, a.controls), (b.nuls, b.controls));
            }
        }
    }

    #[test]
    fn run_flags_match_the_byte_table() {
        use crate::encoded::{DIGIT, NONHEX, STDSYM, UPPER, URLSAFE};
        let all = UPPER | NONHEX | DIGIT | URLSAFE | STDSYM;
        let samples: [&[u8]; 8] = [
            b"0123456789abcdef0123456789ABCDEF",
            b"550e8400-e29b-41d4-a716-446655440000",
            b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            b"ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5Zz",
            b"abcdefabcdefabcdefabcdef",
            b"zz",
            b"0123456789abcd-",
            b"ABCDEFGHIJKLMNOPQ_",
        ];
        for s in samples {
            let want = s.iter().fold(0u8, |f, &b| {
                f | match b {
                    b'A'..=b'F' => UPPER,
                    b'G'..=b'Z' => UPPER | NONHEX,
                    b'g'..=b'z' => NONHEX,
                    b'0'..=b'9' => DIGIT,
                    b'-' | b'_' => URLSAFE,
                    b'+' | b'/' => STDSYM,
                    _ => 0,
                }
            });
            assert_eq!(run_flags(s) & all, want, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn run_flags_in_one_avx512_step_agree() {
        let Some(simd) = pulp::x86::V4::try_new() else {
            return; // nothing to compare on this CPU
        };
        const BYTES: &[u8] = b"AFGZafgz09+/-_=.~ \n\x80@[`{";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || crate::testing::xorshift(&mut state);
        let text: Vec<u8> = (0..4096)
            .map(|_| BYTES[next() as usize % BYTES.len()])
            .collect();
        for _ in 0..50_000 {
            let start = next() as usize % text.len();
            let len = (next() as usize % 90).min(text.len() - start);
            let span = start..start + len;
            assert_eq!(
                run_flags_avx512(simd, &text, span.clone()),
                run_flags(&text[span.clone()]),
                "{span:?}"
            );
        }
    }
}

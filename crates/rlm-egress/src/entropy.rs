//! Per-token entropy, judged against what a random token of the same alphabet
//! and length would score.
//!
//! A fixed "4.5 bits per character" threshold is wrong both ways: a random
//! 20-character base64 token cannot even reach 4.5 bits (20 samples cannot
//! show 64 symbols), while a 200-character base64 blob of English text easily
//! does. So the threshold here is derived from the exact mean and standard
//! deviation of the plug-in Shannon entropy of a uniformly random string of
//! length `n` over `k` symbols, computed once per process into a table, and a
//! token is suspicious when it scores within `z` standard deviations of that
//! mean (or above it).
//!
//! Harmless high-entropy shapes (UUIDs, digests printed as digests) are
//! recognised here too, because the entropy test alone would flag them.

use std::sync::OnceLock;

/// The longest token the table covers; longer runs are blobs, not credentials,
/// and go through the encoded-run decoder instead.
pub(crate) const MAX_TOKEN: usize = 256;

/// Shortest base64/alphanumeric token judged by entropy.
pub(crate) const MIN_B64_TOKEN: usize = 20;

/// Shortest hex token judged by entropy.
pub(crate) const MIN_HEX_TOKEN: usize = 32;

/// How many standard deviations below the random mean still counts as random.
/// Chosen on the labelled corpus (tests/corpus): 2.5 keeps identifiers, paths
/// and base64 of prose out while random tokens fall inside with >99%.
const DEFAULT_Z: f64 = 2.5;

/// Slack for tokens of exactly a key-material length (see [`is_key_len`]).
/// The plug-in entropy of a random string has a heavy left tail: at
/// `z = 2.5` about 1% of random 40- or 64-character base64 strings score
/// below the threshold, so 1 in 100 AWS secret keys or PEM body lines would
/// pass. At `z = 5` fewer than 1 in 10^5 do (simulated, 10^5 draws per
/// length), and at these lengths text, identifiers and paths still score far
/// below (they are also excluded by shape before entropy is computed).
const KEY_Z: f64 = 5.0;

/// The alphabet a token is drawn from, which fixes `k` for the random model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alphabet {
    /// `[0-9a-f]` (either case): k = 16.
    Hex,
    /// `[A-Za-z0-9]`: k = 62.
    Alnum,
    /// Alphanumerics plus `+/` or `-_`: k = 64.
    Base64,
}

impl Alphabet {
    fn k(self) -> usize {
        match self {
            Alphabet::Hex => 16,
            Alphabet::Alnum => 62,
            Alphabet::Base64 => 64,
        }
    }

    fn index(self) -> usize {
        match self {
            Alphabet::Hex => 0,
            Alphabet::Alnum => 1,
            Alphabet::Base64 => 2,
        }
    }
}

/// Mean and standard deviation of the entropy of random strings, per alphabet
/// and length.
struct Table {
    /// `[alphabet][n] = (mean, sd)` in bits per character.
    stats: [Vec<(f64, f64)>; 3],
    /// `x log2 x` for counts up to `MAX_TOKEN`.
    xlogx: Vec<f64>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

fn build_table() -> Table {
    let xlogx: Vec<f64> = (0..=MAX_TOKEN)
        .map(|x| {
            if x == 0 {
                0.0
            } else {
                x as f64 * (x as f64).log2()
            }
        })
        .collect();
    let stats = [Alphabet::Hex, Alphabet::Alnum, Alphabet::Base64]
        .map(|a| random_entropy_stats(a.k(), &xlogx));
    Table { stats, xlogx }
}

/// `E f(X)` for `X ~ Binomial(m, q)`, for every `m` up to [`MAX_TOKEN`].
fn binomial_means(q: f64, f: &[f64]) -> Vec<f64> {
    (0..=MAX_TOKEN)
        .map(|m| {
            // The probabilities by their ratio `P(b+1)/P(b) = (m-b)/(b+1) *
            // q/(1-q)`, from `P(0) = (1-q)^m`: no factorials, one `exp`.
            let mut pb = (m as f64 * (1.0 - q).ln()).exp();
            let mut e = 0.0;
            for (b, &fb) in f[..=m].iter().enumerate() {
                e += pb * fb;
                pb *= (m - b) as f64 / (b + 1) as f64 * (q / (1.0 - q));
            }
            e
        })
        .collect()
}

/// Exact mean and sd of `H = log2 n - S/n`, `S = sum_i f(X_i)`, `f(x) = x log2 x`,
/// where `(X_1..X_k)` is multinomial(n, 1/k). By symmetry only the law of one
/// count (binomial) and of a pair of counts is needed:
/// `E[S] = k E f(X1)`, `E[S^2] = k E f(X1)^2 + k(k-1) E f(X1) f(X2)`.
/// Given `X1 = a`, `X2` is binomial(n - a, p/(1-p)), so the pair term is
/// `sum_a P(X1 = a) f(a) g(n - a)` with `g(m) = E f(Binomial(m, p/(1-p)))`
/// computed once: the whole table costs O(MAX_TOKEN^2) operations. (It is
/// built on the first judgement of a process, a CLI run included.) Past
/// [`EXACT_UP_TO`] the sd is extrapolated (it shrinks like 1/n).
fn random_entropy_stats(k: usize, xlogx: &[f64]) -> Vec<(f64, f64)> {
    let p = 1.0 / k as f64;
    let g = binomial_means(p / (1.0 - p), xlogx);
    let mut out = vec![(0.0, 0.0); MAX_TOKEN + 1];
    for n in 1..=MAX_TOKEN {
        let nf = n as f64;
        let (mut ef, mut ef2, mut efab) = (0.0, 0.0, 0.0);
        let mut pa = (nf * (1.0 - p).ln()).exp();
        for (a, &f) in xlogx[..=n].iter().enumerate() {
            ef += pa * f;
            ef2 += pa * f * f;
            efab += pa * f * g[n - a];
            pa *= (n - a) as f64 / (a + 1) as f64 * (p / (1.0 - p));
        }
        let mean_s = k as f64 * ef;
        let mean = nf.log2() - mean_s / nf;
        let sd = if n <= EXACT_UP_TO {
            let es2 = k as f64 * ef2 + (k * (k - 1)) as f64 * efab;
            let var_s = (es2 - mean_s * mean_s).max(0.0);
            var_s.sqrt() / nf
        } else {
            out[EXACT_UP_TO].1 * EXACT_UP_TO as f64 / nf
        };
        out[n] = (mean, sd);
    }
    out
}

/// Token length up to which the table's sd is computed exactly.
const EXACT_UP_TO: usize = 128;

/// Expected entropy (bits/char) of a uniformly random string of `n` symbols
/// over `k`-symbol `alphabet`, and its standard deviation.
pub(crate) fn random_entropy(alphabet: Alphabet, n: usize) -> (f64, f64) {
    let n = n.clamp(1, MAX_TOKEN);
    table().stats[alphabet.index()][n]
}

/// Plug-in Shannon entropy of `token` in bits per byte.
pub(crate) fn shannon(token: &[u8]) -> f64 {
    let n = token.len();
    if n == 0 {
        return 0.0;
    }
    let mut counts = [0u16; 256];
    for &b in token {
        counts[b as usize] = counts[b as usize].saturating_add(1);
    }
    let t = table();
    // Sum over the token's bytes, each distinct byte once (its count is
    // zeroed after use): work proportional to the token, not the alphabet.
    let mut s = 0.0;
    for &b in token {
        let c = counts[b as usize] as usize;
        if c > 1 {
            s += t.xlogx.get(c).copied().unwrap_or_else(|| {
                let c = c as f64;
                c * c.log2()
            });
        }
        counts[b as usize] = 0;
    }
    (n as f64).log2() - s / n as f64
}

/// Character classes present in a token.
#[derive(Clone, Copy, Default)]
struct Classes {
    upper: bool,
    lower: bool,
    digit: bool,
    b64sym: bool,
    url: bool,
    nonhex_letter: bool,
}

const C_UPPER: u8 = 1;
const C_LOWER: u8 = 2;
const C_DIGIT: u8 = 4;
const C_B64SYM: u8 = 8;
const C_URL: u8 = 16;
const C_NONHEX: u8 = 32;

/// Class flags per byte, OR-ed over a token without branches.
static CLASS_FLAGS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b'A'..=b'F' => C_UPPER,
            b'G'..=b'Z' => C_UPPER | C_NONHEX,
            b'a'..=b'f' => C_LOWER,
            b'g'..=b'z' => C_LOWER | C_NONHEX,
            b'0'..=b'9' => C_DIGIT,
            b'+' | b'/' => C_B64SYM,
            b'-' | b'_' => C_URL,
            _ => 0,
        };
        i += 1;
    }
    t
};

fn classes(token: &[u8]) -> Classes {
    let f = token
        .iter()
        .fold(0u8, |acc, &b| acc | CLASS_FLAGS[b as usize]);
    Classes {
        upper: f & C_UPPER != 0,
        lower: f & C_LOWER != 0,
        digit: f & C_DIGIT != 0,
        b64sym: f & C_B64SYM != 0,
        url: f & C_URL != 0,
        nonhex_letter: f & C_NONHEX != 0,
    }
}

/// Verdict of the entropy judge on one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Looks like a random credential.
    Suspicious,
    /// Not random enough, or a known harmless shape.
    Pass,
}

/// Entropy judge with an optional fixed threshold override.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntropyJudge {
    /// A fixed bits-per-character threshold replacing the derived one.
    pub(crate) fixed: Option<f64>,
    /// Standard deviations of slack below the random mean.
    pub(crate) z: f64,
}

impl Default for EntropyJudge {
    fn default() -> Self {
        EntropyJudge {
            fixed: None,
            z: DEFAULT_Z,
        }
    }
}

impl EntropyJudge {
    /// Judges one token (a maximal run of base64/base64url characters, `=`
    /// padding stripped by the caller or not).
    pub(crate) fn judge(&self, token: &[u8]) -> Verdict {
        let body = trim_padding(token);
        let n = body.len();
        if !(MIN_B64_TOKEN..=MAX_TOKEN).contains(&n) {
            return Verdict::Pass;
        }
        let c = classes(body);
        if (n == 36 && is_uuid(body)) || (c.url && is_uuid_like_hex_dashes(body)) {
            return Verdict::Pass;
        }
        let alphabet = if !c.nonhex_letter && !c.b64sym && !c.url {
            Alphabet::Hex
        } else if c.b64sym || c.url {
            Alphabet::Base64
        } else {
            Alphabet::Alnum
        };
        let key_len = alphabet != Alphabet::Hex && is_key_len(n);
        match alphabet {
            Alphabet::Hex => {
                // Digests are printed as digests all the time (git SHAs,
                // sha256 sums, md5 of files); their lengths are distinctive.
                if n < MIN_HEX_TOKEN || is_digest_len(n) {
                    return Verdict::Pass;
                }
                // Decimal numbers and runs of letters a-f are not keys.
                if !(c.digit && (c.upper || c.lower)) {
                    return Verdict::Pass;
                }
            }
            _ => {
                // All three classes: a random 20-char token lacks one of them
                // only ~4% of the time, while identifiers, words in snake or
                // kebab case, and SCREAMING constants nearly always do. At
                // key-material lengths a random token lacks digits and
                // symbols with probability < 3e-4 (40 chars), so both cases
                // suffice there.
                let classes_ok = if key_len {
                    c.upper && c.lower
                } else {
                    c.upper && c.lower && c.digit
                };
                if !classes_ok {
                    return Verdict::Pass;
                }
                if looks_like_identifier(body) {
                    return Verdict::Pass;
                }
            }
        }
        let h = shannon(body);
        let threshold = match self.fixed {
            Some(t) => t,
            None => {
                let (mean, sd) = random_entropy(alphabet, n);
                let z = if key_len { self.z.max(KEY_Z) } else { self.z };
                mean - z * sd
            }
        };
        if h >= threshold {
            Verdict::Suspicious
        } else {
            Verdict::Pass
        }
    }
}

fn trim_padding(token: &[u8]) -> &[u8] {
    let mut end = token.len();
    while end > 0 && token[end - 1] == b'=' {
        end -= 1;
    }
    &token[..end]
}

/// Lengths (padding trimmed) of base64 key material that is a secret on its
/// own: AWS secret access keys (40), 256-bit keys such as Azure SAS keys
/// (43 + `=`), PEM private-key body lines (64), Azure storage account keys
/// (86 + `==`).
fn is_key_len(n: usize) -> bool {
    matches!(n, 40 | 43 | 64 | 86)
}

/// Whether the judge passes every all-hex token of `n` bytes (shorter than a
/// key, or a digest's length).
pub(crate) fn hex_passes_judge(n: usize) -> bool {
    n < MIN_HEX_TOKEN || is_digest_len(n)
}

fn is_digest_len(n: usize) -> bool {
    matches!(n, 32 | 40 | 56 | 64 | 96 | 128)
}

/// `8-4-4-4-12` hex with dashes.
pub(crate) fn is_uuid(t: &[u8]) -> bool {
    // Dashes first: most 36-byte tokens fail there, before any digit test.
    t.len() == 36
        && t[8] == b'-'
        && t[13] == b'-'
        && t[18] == b'-'
        && t[23] == b'-'
        && [&t[..8], &t[9..13], &t[14..18], &t[19..23], &t[24..]]
            .iter()
            .all(|g| g.iter().all(u8::is_ascii_hexdigit))
}

/// Runs of UUIDs or hex groups joined by dashes/underscores (`uuid_uuid`,
/// request ids like `req-<hex>-<hex>`): every group hex, groups short.
fn is_uuid_like_hex_dashes(t: &[u8]) -> bool {
    let mut groups = 0;
    for g in t.split(|&b| b == b'-' || b == b'_') {
        if g.is_empty() || g.len() > 16 || !g.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        groups += 1;
    }
    groups >= 3
}

/// Snake/kebab/camel identifiers: segments separated by `_`/`-` that are each
/// word-like (no digits inside letters, at most one case change per segment
/// start). Random tokens almost never split into such segments.
fn looks_like_identifier(t: &[u8]) -> bool {
    let sep = |b: &u8| matches!(b, b'_' | b'-' | b'/' | b'+');
    if !t.iter().any(sep) {
        return camel_words(t);
    }
    t.split(sep)
        .filter(|s| !s.is_empty())
        .all(|s| s.len() <= 14 && camel_words(s))
}

/// Whether a segment reads as CamelCase words with an optional trailing
/// number: `getUserById2`, `HTTPServer`, `Python3`.
fn camel_words(s: &[u8]) -> bool {
    // Strip a trailing number.
    let mut end = s.len();
    while end > 0 && s[end - 1].is_ascii_digit() {
        end -= 1;
    }
    let s = &s[..end];
    if s.is_empty() || s.iter().any(|b| !b.is_ascii_alphabetic()) {
        return false;
    }
    // Count lower->upper transitions (word starts) and upper runs: words have
    // at least ~3 lower letters per upper one.
    let uppers = s.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lowers = s.len() - uppers;
    if uppers == s.len() {
        return true;
    }
    let mut transitions = 0;
    for w in s.windows(2) {
        if w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase() {
            transitions += 1;
        }
    }
    lowers >= 3 * transitions.max(1) && lowers >= 2 * uppers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recurrences_match_the_closed_form() {
        let t = table();
        let lnfact: Vec<f64> = (0..=MAX_TOKEN)
            .scan(0.0f64, |acc, i| {
                if i > 0 {
                    *acc += (i as f64).ln();
                }
                Some(*acc)
            })
            .collect();
        for alphabet in [Alphabet::Hex, Alphabet::Alnum, Alphabet::Base64] {
            let k = alphabet.k();
            let p = 1.0 / k as f64;
            let (lp, lq1, lq2) = (p.ln(), (1.0 - p).ln(), (1.0 - 2.0 * p).ln());
            for n in [1usize, 2, 20, 40, 64, 100, 128, 200, 256] {
                let nf = n as f64;
                let prob = |l: f64| l.exp();
                let (mut ef, mut ef2) = (0.0, 0.0);
                for a in 0..=n {
                    let pa = prob(
                        lnfact[n] - lnfact[a] - lnfact[n - a]
                            + a as f64 * lp
                            + (n - a) as f64 * lq1,
                    );
                    ef += pa * t.xlogx[a];
                    ef2 += pa * t.xlogx[a] * t.xlogx[a];
                }
                let mean_s = k as f64 * ef;
                let (mean, sd) = random_entropy(alphabet, n);
                assert!(
                    (mean - (nf.log2() - mean_s / nf)).abs() < 1e-9,
                    "{alphabet:?} {n}"
                );
                if n <= 128 {
                    let mut efab = 0.0;
                    for a in 1..=n {
                        for b in 1..=(n - a) {
                            let l = lnfact[n] - lnfact[a] - lnfact[b] - lnfact[n - a - b]
                                + (a + b) as f64 * lp
                                + (n - a - b) as f64 * lq2;
                            efab += prob(l) * t.xlogx[a] * t.xlogx[b];
                        }
                    }
                    let es2 = k as f64 * ef2 + (k * (k - 1)) as f64 * efab;
                    let want = (es2 - mean_s * mean_s).max(0.0).sqrt() / nf;
                    assert!(
                        (sd - want).abs() <= 1e-9 * want.max(1.0),
                        "{alphabet:?} {n}: {sd} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn random_mean_is_sane() {
        // 64 random hex chars: close to but below 4 bits.
        let (m, sd) = random_entropy(Alphabet::Hex, 64);
        assert!(m > 3.6 && m < 4.0, "{m}");
        assert!(sd > 0.0 && sd < 0.2, "{sd}");
        // 20 base64 chars cannot reach log2(64) = 6 bits; at most log2(20).
        let (m, _) = random_entropy(Alphabet::Base64, 20);
        assert!(m < 20f64.log2() && m > 3.8, "{m}");
    }

    #[test]
    fn shapes() {
        let j = EntropyJudge::default();
        assert_eq!(
            j.judge(b"550e8400-e29b-41d4-a716-446655440000"),
            Verdict::Pass
        );
        assert_eq!(
            j.judge(b"da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            Verdict::Pass
        );
        assert_eq!(j.judge(b"getUserAccountDetailsById"), Verdict::Pass);
        assert_eq!(
            j.judge(b"site-packages/numpy/core/multiarray"),
            Verdict::Pass
        );
        assert_eq!(
            j.judge(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            Verdict::Suspicious
        );
        assert_eq!(j.judge(b"q8Zr2LkV9xT4mN7pW1sY3bC6"), Verdict::Suspicious);
    }

    #[test]
    fn key_length_lines_in_the_entropy_tail_are_caught() {
        let j = EntropyJudge::default();
        // A random PEM body line (tests/properties.proptest-regressions)
        // whose entropy is 2.7 sd below the random mean and which happens
        // to have no `+` or `/`.
        let line = b"rb7GQGbdSQyeBpiyyhcykXKAU2SZfqcbxmmXAWZSdQYZXKoBxTxSeS0fuUQHPMdA";
        assert_eq!(j.judge(line), Verdict::Suspicious);
        // Identifiers and paths of the same lengths still pass.
        assert_eq!(
            j.judge(b"getUserAccountDetailsByIdentifierAndName"),
            Verdict::Pass
        );
        assert_eq!(
            j.judge(b"site-packages/numpy/core/multiarray/test"),
            Verdict::Pass
        );
    }
}

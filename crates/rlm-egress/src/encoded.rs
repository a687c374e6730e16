//! Encoded runs: base64, base64url, hex and percent-encoding.
//!
//! A secret that leaves base64-encoded is still a secret. This module finds
//! candidate runs in one pass over the text (the same pass feeds the entropy
//! judge), decodes them, and tells whether the result is text worth
//! rescanning. The caller rescans with a depth bound, so nested encodings are
//! followed a fixed number of levels and no further.

use std::ops::Range;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

use crate::finding::Encoding;
use crate::prefetch::{Prefetch, AHEAD};
use wide::u8x16;

use crate::classify::in_range;

/// Shortest run worth decoding: 12 decoded bytes; shorter secrets cannot be
/// told apart from anything else once decoded.
pub(crate) const MIN_ENCODED: usize = 16;

/// Longest single run decoded; longer runs are decoded in slices of this size
/// (a multiple of 4 and of 2, so slices stay aligned) to bound memory.
pub(crate) const MAX_DECODE: usize = 1 << 20;

// Classes of a run's bytes, OR-ed over the run into `Run::flags`
// (computed by `classify::run_flags`).
/// `-` or `_`.
pub(crate) const URLSAFE: u8 = 4;
/// `+` or `/`.
pub(crate) const STDSYM: u8 = 8;
/// `A-Z`.
pub(crate) const UPPER: u8 = 16;
/// A letter that is not a hex digit (`g-z`, `G-Z`).
pub(crate) const NONHEX: u8 = 32;
/// `0-9`.
pub(crate) const DIGIT: u8 = 64;

/// A maximal run of token bytes (`[A-Za-z0-9+/_-]` plus trailing `=`), or a
/// group of such runs on consecutive lines when they look like a wrapped
/// base64 body.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    /// Whole span, line breaks of a group included.
    pub(crate) span: Range<usize>,
    /// How many runs make it up (one unless wrapped); they are read back
    /// off the text ([`Run::segments`]), so that a run owns no allocation:
    /// dropping the runs of an output is then free, and each run is 40
    /// bytes, not 72 (the passes over the runs read them all).
    segment_count: u32,
    /// Length of the last of them when there are several (`u32::MAX` if
    /// it does not fit; then it is read back too): the next line's join
    /// test reads it for every run after a wrapped body.
    last_len: u32,
    /// Every byte a hex digit.
    pub(crate) all_hex: bool,
    /// `=` padding at the end of the span (of the last segment).
    pub(crate) pad: u8,
    /// The OR of the byte classes (`URLSAFE`, `STDSYM`, `UPPER`, `NONHEX`,
    /// `DIGIT`), computed once by the scanner for every later test.
    pub(crate) flags: u8,
    /// The bytes right before the span ([`Run::lead`]), right-aligned, and
    /// how many there are. They are read while the scanner has the run's
    /// bytes in cache: the later passes over the runs decide
    /// most rules from them without touching the text again (by then it
    /// has left the nearer caches).
    lead: [u8; LEAD],
    lead_len: u8,
    /// The first bytes of the span (a run has at least [`MIN_ENCODED`]),
    /// for prefix tests that would otherwise read the text again.
    head: [u8; HEAD],
}

/// Bytes kept from the start of a run ([`Run::starts_with`]).
const HEAD: usize = 4;

/// Bytes kept from before a run: enough for `["']?\s{0,4}(=|:)` (an
/// operator, up to four spaces and a quote before a value).
pub(crate) const LEAD: usize = 6;

impl Run {
    /// Has `-` or `_`.
    pub(crate) fn urlsafe(&self) -> bool {
        self.flags & URLSAFE != 0
    }

    /// Has `+` or `/`.
    pub(crate) fn stdsym(&self) -> bool {
        self.flags & STDSYM != 0
    }

    /// Up to [`LEAD`] bytes right before the span (fewer at the start of
    /// the text), the last one adjacent to the run.
    pub(crate) fn lead(&self) -> &[u8] {
        &self.lead[LEAD - usize::from(self.lead_len)..]
    }

    /// Whether the run starts with `prefix`, from the bytes it keeps when
    /// `prefix` is short enough, else from `text`.
    pub(crate) fn starts_with(&self, text: &[u8], prefix: &[u8]) -> bool {
        match self.head.get(..prefix.len()) {
            Some(head) if self.span.len() >= HEAD => head == prefix,
            _ => text
                .get(self.span.start..self.span.end)
                .is_some_and(|run| run.starts_with(prefix)),
        }
    }

    fn of(text: &[u8], span: Range<usize>) -> Run {
        let flags = crate::classify::run_flags(&text[span.clone()]);
        Run::with_flags(text, span, flags)
    }

    /// The run over `span`, whose class flags are `flags`.
    #[inline(always)]
    fn with_flags(text: &[u8], span: Range<usize>, flags: u8) -> Run {
        let body = &text[span.clone()];
        // Fixed-size copies in the usual case (a run has at least
        // `MIN_ENCODED` bytes and rarely starts the text): a copy of
        // variable length is a call to `memcpy`, on every run.
        let mut head = [0u8; HEAD];
        match body.first_chunk::<HEAD>() {
            Some(first) => head = *first,
            None => head[..body.len()].copy_from_slice(body),
        }
        let from = span.start.saturating_sub(LEAD);
        let mut lead = [0u8; LEAD];
        match text[..span.start].last_chunk::<LEAD>() {
            Some(before) => lead = *before,
            None => lead[LEAD - (span.start - from)..].copy_from_slice(&text[from..span.start]),
        }
        Run {
            segment_count: 1,
            last_len: 0,
            // Every byte of a run is a token byte; those that are not hex
            // digits are the other letters and the four symbols.
            all_hex: flags & (NONHEX | URLSAFE | STDSYM) == 0,
            pad: 0,
            flags,
            lead,
            lead_len: (span.start - from) as u8,
            head,
            span,
        }
    }

    /// How many runs make it up (one unless wrapped).
    pub(crate) fn segment_count(&self) -> usize {
        self.segment_count as usize
    }

    /// Its span, when it is one run (not wrapped).
    pub(crate) fn single_segment(&self) -> Option<&Range<usize>> {
        (self.segment_count == 1).then_some(&self.span)
    }

    /// The runs making it up, in order: its span when it is one run, else
    /// the lines of a wrapped body. Those are read back off `text` (the
    /// text the run was found in): each line is token bytes and at most two
    /// `=`, and a line break, which has neither, separates it from the
    /// next.
    pub(crate) fn segments<'t>(&self, text: &'t [u8]) -> Segments<'t> {
        Segments {
            text,
            at: self.span.start,
            end: self.span.end,
            whole: self.segment_count == 1,
        }
    }

    /// The last of [`Run::segments`].
    fn last_segment(&self, text: &[u8]) -> Range<usize> {
        if self.segment_count == 1 {
            return self.span.clone();
        }
        let end = self.span.end;
        if self.last_len != u32::MAX {
            return end - self.last_len as usize..end;
        }
        let len = text[self.span.start..end]
            .iter()
            .rev()
            .take_while(|&&b| is_run_byte(b))
            .count();
        end - len..end
    }
}

// What the passes over the runs read: keep it at 40 bytes (64-bit targets).
const _: () = assert!(std::mem::size_of::<Run>() <= 40);

/// Whether `b` can be in a run: a token byte or its `=` padding.
pub(crate) fn is_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-' | b'=')
}

/// Iterator over [`Run::segments`].
pub(crate) struct Segments<'t> {
    text: &'t [u8],
    at: usize,
    end: usize,
    /// The run is one segment: its span, without reading the text.
    whole: bool,
}

impl Iterator for Segments<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.at >= self.end {
            return None;
        }
        if self.whole {
            let whole = self.at..self.end;
            self.at = self.end;
            return Some(whole);
        }
        let rest = &self.text[self.at..self.end];
        let skip = rest.iter().take_while(|&&b| !is_run_byte(b)).count();
        let len = rest[skip..].iter().take_while(|&&b| is_run_byte(b)).count();
        let start = self.at + skip;
        self.at = start + len;
        (len > 0).then_some(start..start + len)
    }
}

/// Positions where `need` consecutive bits of `m` start (`1 <= need <= 64`),
/// with the shifts known at compile time for the run length every scan uses.
#[inline]
fn long_starts(m: u128, need: usize) -> u128 {
    const USUAL: usize = MIN_ENCODED - 2;
    if need == USUAL {
        let x = m & m >> 1;
        let x = x & x >> 2;
        let x = x & x >> 4;
        return x & x >> (USUAL - 8);
    }
    long_starts_any(m, need)
}

fn long_starts_any(m: u128, need: usize) -> u128 {
    let mut x = m;
    let mut len = 1;
    while len * 2 <= need {
        x &= x >> len;
        len *= 2;
    }
    if len < need {
        x &= x >> (need - len);
    }
    x
}

/// Finds runs of at least `min_len` token bytes.
#[cfg(test)]
pub(crate) fn runs(text: &[u8], min_len: usize, out: &mut Vec<Run>) {
    let classes = crate::classify::classify(text);
    runs_in(text, &classes.tok, min_len, out);
}

/// Finds runs of at least `min_len` token bytes, given the token-byte masks
/// of the text's 64-byte blocks ([`crate::classify`]). Lower-case UUIDs
/// that no later stage could take for anything else are left out (see
/// [`is_unremarkable_uuid`]).
pub(crate) fn runs_in(text: &[u8], tok: &[u64], min_len: usize, out: &mut Vec<Run>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V4::try_new() {
        return simd.vectorize(RunsInAvx512 {
            text,
            tok,
            min_len,
            out,
            simd,
        });
    }
    runs_in_with(text, tok, min_len, out, |t: &[u8], r: Range<usize>| {
        crate::classify::run_flags(&t[r])
    })
}

/// [`runs_in`] compiled with the CPU's AVX-512 features, the classes of
/// a run of at most 64 bytes summed in one step
/// ([`crate::classify::run_flags_avx512`]). An operation of its own rather
/// than a closure: `V4::vectorize` compiles what it inlines with those
/// features, and a closure is not always inlined (then every intrinsic in
/// it becomes a call).
#[cfg(target_arch = "x86_64")]
struct RunsInAvx512<'a> {
    text: &'a [u8],
    tok: &'a [u64],
    min_len: usize,
    out: &'a mut Vec<Run>,
    simd: pulp::x86::V4,
}

#[cfg(target_arch = "x86_64")]
impl pulp::NullaryFnOnce for RunsInAvx512<'_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let simd = self.simd;
        runs_in_with(
            self.text,
            self.tok,
            self.min_len,
            self.out,
            |t: &[u8], r: Range<usize>| crate::classify::run_flags_avx512(simd, t, r),
        );
    }
}

/// [`runs_in`], with `flags(text, span)` giving the class flags of the
/// token bytes `text[span]`.
#[inline(always)]
fn runs_in_with(
    text: &[u8],
    tok: &[u64],
    min_len: usize,
    out: &mut Vec<Run>,
    flags: impl Fn(&[u8], Range<usize>) -> u8 + Copy,
) {
    let n = text.len();
    // A qualifying run has at least `need` token bytes (padding is at most
    // two `=`). Where such runs start and end is read off the masks, two
    // blocks at a time, with no branch per block: a block of prose or of a
    // table (words far shorter than `need`) yields neither. Finding each
    // run by its own search (the first long start after the last run's
    // end, then its end) cost a mispredicted branch or two per run.
    let need = min_len.saturating_sub(2).clamp(1, 64);
    let mask = |k: usize| tok.get(k).copied().unwrap_or(0);
    let prefetch = Prefetch::new();
    // The top bit of the block before: whether a run reaches into this one.
    let mut carry = 0u64;
    // The start of a qualifying run whose end lies in a later block.
    let mut open: Option<usize> = None;
    for (k, &cur) in tok.iter().enumerate() {
        let blk = 64 * k;
        prefetch.at(text, blk + AHEAD);
        // Bit `j`: `need` token bytes from `blk + j` on (valid for `j` up
        // to 64, which is what is read of it).
        let long = long_starts(cur as u128 | (mask(k + 1) as u128) << 64, need);
        // Qualifying runs start at a token byte after a non-token byte that
        // has `need` of them from there; they end `need` bytes after their
        // last such position.
        let mut starts = cur & !(cur << 1 | carry) & long as u64;
        carry = cur >> 63;
        let mut lasts = (long & !(long >> 1)) as u64;
        if starts | lasts == 0 {
            continue;
        }
        // Runs do not overlap, so the ends pair with the starts in order,
        // the first one with a run left open by an earlier block, if any.
        while lasts != 0 {
            let end = (blk + lasts.trailing_zeros() as usize + need).min(n);
            let start = open.take().unwrap_or_else(|| {
                let at = blk + starts.trailing_zeros() as usize;
                starts &= starts.wrapping_sub(1);
                at
            });
            take_run(text, start..end, min_len, out, flags);
            lasts &= lasts - 1;
        }
        // At most one start is left: a run that ends in a later block.
        if starts != 0 {
            open = Some(blk + starts.trailing_zeros() as usize);
        }
    }
}

/// Appends the run of token bytes `tokens` to `out` (or to the run before
/// it, as the next line of a wrapped body), with the `=` padding after it,
/// unless it is too short with its padding or an unremarkable UUID.
#[inline(always)]
fn take_run(
    text: &[u8],
    tokens: Range<usize>,
    min_len: usize,
    out: &mut Vec<Run>,
    flags: impl Fn(&[u8], Range<usize>) -> u8,
) {
    let n = text.len();
    let (start, i) = (tokens.start, tokens.end);
    // Padding belongs to the run; '=' elsewhere separates (`key=value`).
    let mut end = i;
    while end < n && end - i < 2 && text[end] == b'=' {
        end += 1;
    }
    if end - start < min_len {
        return;
    }
    // Wrapped base64 (PEM bodies, MIME, `base64` CLI at 76 columns):
    // join with the previous run when that one filled its line and this
    // one fills the next line, no longer than the previous.
    let joins = out.last().is_some_and(|prev| {
        let last = prev.last_segment(text);
        let gap = &text[last.end..start];
        let full_line = last.len() >= 40 && last.len() % 4 == 0;
        let is_break = matches!(gap, b"\n" | b"\r\n" | b"\\n" | b"\\r\\n");
        let ends_line = matches!(
            text.get(end),
            None | Some(b'\n' | b'\r' | b'\\' | b'"' | b'\'')
        );
        full_line && is_break && ends_line && end - start <= last.len() && !prev.all_hex
    });
    if !joins && end == i && is_unremarkable_uuid(text, start, i) {
        return;
    }
    let mut run = Run::with_flags(text, start..i, flags(text, start..i));
    run.span.end = end;
    run.pad = (end - i) as u8;
    if joins {
        if let Some(prev) = out.last_mut() {
            prev.span.end = end;
            prev.segment_count = prev.segment_count.saturating_add(1);
            prev.last_len = u32::try_from(end - start).unwrap_or(u32::MAX);
            prev.all_hex &= run.all_hex;
            prev.flags |= run.flags;
            prev.pad = run.pad;
            return;
        }
    }
    out.push(run);
}

/// Whether the run `text[start..end]` is a lower-case UUID that no later
/// stage can take for anything else, so that it need not be a run at all:
/// about half of the runs of logs and JSON are UUIDs. Later stages pass
/// such a run; the exceptions are left as runs: an upper-case letter (the
/// token-prefix search looks at those), and a run right after `.` or `:`
/// (the third part of a Discord token, the secret of a Telegram one).
fn is_unremarkable_uuid(text: &[u8], start: usize, end: usize) -> bool {
    use wide::u8x16;
    const DASHES: [u32; 3] = [1 << 8 | 1 << 13, 1 << 2 | 1 << 7, 1 << 3];
    if end - start != 36 || (start > 0 && matches!(text[start - 1], b'.' | b':')) {
        return false;
    }
    let t = &text[start..end];
    [0, 16, 20].iter().zip(DASHES).all(|(&at, dashes)| {
        let mut q = [0u8; 16];
        q.copy_from_slice(&t[at..at + 16]);
        let x = u8x16::new(q);
        let hex = in_range(x, b'0', 10) | in_range(x, b'a', 6);
        let dash = x.cmp_eq(u8x16::splat(b'-'));
        let (hex, dash) = (hex.move_mask() as u32, dash.move_mask() as u32);
        dash & 0xffff == dashes && (hex | dash) & 0xffff == 0xffff
    })
}

const DECODE_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
/// Built once at compile time (building an engine fills decode tables).
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, DECODE_CONFIG);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, DECODE_CONFIG);

/// Whether `b64` (unpadded standard base64, at most 40 bytes) decodes to
/// ASCII digits only, at least `min_digits` of them: how a numeric id looks
/// inside a token (the first part of a Discord token).
pub(crate) fn is_base64_of_digits(b64: &[u8], min_digits: usize) -> bool {
    let mut buf = [0u8; 30];
    match STANDARD.decode_slice(b64, &mut buf) {
        Ok(n) => n >= min_digits && buf[..n].iter().all(u8::is_ascii_digit),
        Err(_) => false,
    }
}

/// Decodes a run as hex or base64 into `out` (cleared first; a buffer the
/// caller reuses across runs), its segments joined. Returns the encoding.
pub(crate) fn decode_run(text: &[u8], run: &Run, out: &mut Vec<u8>) -> Option<Encoding> {
    decode_segments(text, run, out)
}

/// The segments of a wrapped run as runs of their own: the lines of a
/// "wrapped" run may not belong together, and each must then be judged
/// alone (a line of text must not vouch for a key line next to it).
pub(crate) fn split(text: &[u8], run: &Run) -> Vec<Run> {
    run.segments(text).map(|seg| single(text, seg)).collect()
}

/// The one-segment run over `r`, a segment or a piece of one. Its `=`
/// padding is not part of the class summary (as in [`runs_in`]).
fn single(text: &[u8], r: Range<usize>) -> Run {
    let t = &text[r.clone()];
    let body = t.len() - t.iter().rev().take_while(|&&b| b == b'=').count();
    let mut run = Run::of(text, r.start..r.start + body);
    run.pad = (t.len() - body).min(2) as u8;
    run.span = r;
    run
}

/// The parts of `run` outside `cuts` (in text order, disjoint), as runs of
/// their own when they are long enough to be runs: what is left of it once
/// the cuts are redaction markers, whose brackets end token runs.
pub(crate) fn pieces_outside(text: &[u8], run: &Run, cuts: &[Range<usize>], out: &mut Vec<Run>) {
    for seg in run.segments(text) {
        gaps(seg, cuts, |r| {
            if r.len() >= MIN_ENCODED {
                out.push(single(text, r));
            }
        });
    }
}

/// Calls `f` with each part of `span` outside `cuts` (sorted, disjoint), in
/// order: `span` itself when no cut touches it.
pub(crate) fn gaps(span: Range<usize>, cuts: &[Range<usize>], mut f: impl FnMut(Range<usize>)) {
    let first = cuts.partition_point(|c| c.end <= span.start);
    let mut at = span.start;
    for c in cuts[first..].iter().take_while(|c| c.start < span.end) {
        if c.start > at {
            f(at..c.start);
        }
        at = at.max(c.end);
    }
    if at < span.end {
        f(at..span.end);
    }
}

fn decode_segments(text: &[u8], run: &Run, out: &mut Vec<u8>) -> Option<Encoding> {
    out.clear();
    let joined: Vec<u8>;
    let body: &[u8] = if let Some(only) = run.single_segment() {
        let s = &text[only.clone()];
        &s[..s.len().min(MAX_DECODE)]
    } else {
        let mut j: Vec<u8> = Vec::with_capacity(run.span.len().min(MAX_DECODE));
        for s in run.segments(text) {
            let room = MAX_DECODE.saturating_sub(j.len());
            let s = &text[s];
            j.extend_from_slice(&s[..s.len().min(room)]);
        }
        joined = j;
        &joined
    };
    if run.all_hex && run.segment_count() == 1 {
        let even = body.len() & !1;
        if even >= MIN_ENCODED * 2 {
            return decode_hex(&body[..even], out).then_some(Encoding::Hex);
        }
        return None;
    }
    if run.urlsafe() && run.stdsym() {
        return None;
    }
    let mut len = body.len();
    while len > 0 && body[len - 1] == b'=' {
        len -= 1;
    }
    let body = &body[..decodable_base64(len)];
    if run.urlsafe() {
        URL_SAFE
            .decode_vec(body, out)
            .ok()
            .map(|()| Encoding::Base64Url)
    } else {
        STANDARD
            .decode_vec(body, out)
            .ok()
            .map(|()| Encoding::Base64)
    }
}

/// How many of `len` unpadded base64 characters are decoded: a dangling
/// sextet is dropped, so that decoding never fails on length alone (a run
/// cut by the output cap or by a chunk boundary).
fn decodable_base64(len: usize) -> usize {
    len - len % 4 + if len % 4 >= 2 { len % 4 } else { 0 }
}

/// Value of a hex digit, `0xff` for any other byte.
static HEXVAL: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => 0xff,
        };
        i += 1;
    }
    t
};

fn hex_or_zero(b: u8) -> u8 {
    match HEXVAL[b as usize] {
        0xff => 0,
        v => v,
    }
}

/// Decodes an even-length hex string into `out` (appended); false if a
/// byte is not a hex digit.
fn decode_hex(s: &[u8], out: &mut Vec<u8>) -> bool {
    let from = out.len();
    out.resize(from + s.len() / 2, 0);
    let mut bad = 0u8;
    for (d, p) in out[from..].iter_mut().zip(s.chunks_exact(2)) {
        let (h, l) = (HEXVAL[p[0] as usize], HEXVAL[p[1] as usize]);
        bad |= (h | l) & 0xf0;
        *d = h << 4 | l;
    }
    bad == 0
}

/// Whether decoding `run` surely gives nothing [`is_texty`] accepts, told
/// from its first decoded bytes: random keys and digests decode to invalid
/// UTF-8 within a few bytes, and decoding all of a run to learn that costs
/// more than every other check of it. `false` means "decode it".
///
/// Asked only of the runs that get as far as decoding (about a third of
/// them): judging every run as it was found cost more, although its text
/// was in cache then and often is not by now.
pub(crate) fn surely_not_texty(text: &[u8], run: &Run) -> bool {
    if run.segment_count() != 1 {
        return false;
    }
    // The run's `=` padding is not part of its body (a piece may have more
    // than the two `=` a run keeps).
    let t = &text[run.span.clone()];
    let body = t.len() - t.iter().rev().take_while(|&&b| b == b'=').count();
    prefix_not_texty(&t[..body], run.flags)
}

/// [`surely_not_texty`] for a run's body (without its padding) and classes:
/// decodes its first twelve bytes and looks for invalid UTF-8 in them.
fn prefix_not_texty(body: &[u8], flags: u8) -> bool {
    const PREFIX: usize = 12;
    let body = &body[..body.len().min(MAX_DECODE)];
    let (urlsafe, stdsym) = (flags & URLSAFE != 0, flags & STDSYM != 0);
    // As `decode_segments` reads the run: the decoded length, and the
    // alphabet.
    let (total, hex, values) = if flags & (NONHEX | URLSAFE | STDSYM) == 0 {
        let even = body.len() & !1;
        if even < MIN_ENCODED * 2 {
            return false;
        }
        (even / 2, true, &HEXVAL)
    } else {
        if urlsafe && stdsym {
            return false;
        }
        let usable = decodable_base64(body.len());
        if usable < PREFIX / 3 * 4 {
            return false;
        }
        let values = if urlsafe { &B64VAL_URL } else { &B64VAL_STD };
        (
            usable / 4 * 3 + (usable % 4).saturating_sub(1),
            false,
            values,
        )
    };
    // The whole prefix at once, then one validation: the stepwise reading
    // (three bytes, validate, three more) branched on every step, and on
    // runs of mixed kinds those branches are mispredicted. The first
    // invalid sequence of the prefix is the same either way: UTF-8
    // validity of a prefix never changes when bytes are added after it.
    // The decoded bytes are assembled in a register, byte `k` at bits
    // `8k`: built byte by byte in memory and loaded as a vector, they
    // waited for the stores (a failed store forwarding) on every run.
    let mut acc = 0u128;
    if hex {
        let Some(digits) = body.first_chunk::<{ 2 * PREFIX }>() else {
            return false;
        };
        for (k, p) in digits.chunks_exact(2).enumerate() {
            let byte = values[p[0] as usize] << 4 | values[p[1] as usize];
            acc |= u128::from(byte) << (8 * k);
        }
    } else {
        let Some(digits) = body.first_chunk::<{ PREFIX / 3 * 4 }>() else {
            return false;
        };
        let mut bad = 0u8;
        for (g, q) in digits.chunks_exact(4).enumerate() {
            let v = [0, 1, 2, 3].map(|i| values[q[i] as usize]);
            bad |= v[0] | v[1] | v[2] | v[3];
            let bits = u32::from(v[0]) << 18
                | u32::from(v[1]) << 12
                | u32::from(v[2]) << 6
                | u32::from(v[3]);
            // Big-endian three bytes, placed little-endian.
            let le = (bits >> 16) & 0xff | (bits & 0xff00) | (bits & 0xff) << 16;
            acc |= u128::from(le) << (24 * g);
        }
        if bad >= 64 {
            // Not of the alphabet: the decoder refuses the run. (A run's
            // bytes are token bytes of the alphabet its flags chose, so
            // this is a guard.)
            return false;
        }
    }
    let bytes = acc.to_le_bytes();
    // An invalid sequence (not one cut short by the end of the prefix)
    // ends the valid UTF-8 of the whole decoding there too. Where it starts
    // matters only when the decoding is short: a long one is more than
    // three bytes past any start in the prefix.
    if utf8_errors(u8x16::new(bytes)) == 0 {
        return false;
    }
    total >= PREFIX + 3 || first_invalid_utf8(&bytes[..PREFIX]).is_some_and(|at| total - at > 3)
}

/// A mask of the first twelve bytes of `x` where their UTF-8 goes wrong,
/// zero exactly when [`first_invalid_utf8`] finds nothing in them (a
/// sequence cut short by their end is not wrong), with no branch: the
/// decoded prefixes of random runs start with bytes of every class, whose
/// branches a scalar reading mispredicts.
#[inline]
fn utf8_errors(x: u8x16) -> u32 {
    let mask = |lo: u8, width: u8| (in_range(x, lo, width).move_mask() as u32) & 0xfff;
    let cont = mask(0x80, 0x40);
    let lead2 = mask(0xC2, 30);
    let lead3 = mask(0xE0, 16);
    let lead4 = mask(0xF0, 5);
    // C0 and C1 (overlong) and F5-FF (past U+10FFFF) start nothing.
    let never = mask(0xC0, 2) | mask(0xF5, 11);
    // Where continuation bytes must be, as the leads before them say.
    let expected = (lead2 | lead3 | lead4) << 1 | (lead3 | lead4) << 2 | lead4 << 3;
    // The second byte's narrower ranges after E0, ED, F0 and F4.
    let narrow = mask(0xE0, 1) << 1 & mask(0x80, 0x20)
        | mask(0xED, 1) << 1 & mask(0xA0, 0x20)
        | mask(0xF0, 1) << 1 & mask(0x80, 0x10)
        | mask(0xF4, 1) << 1 & mask(0x90, 0x30);
    ((expected ^ cont) | never | narrow) & 0xfff
}

/// Where the first invalid UTF-8 sequence of `b` starts, if one does; a
/// sequence cut short by the end of `b` is not invalid. What
/// `std::str::from_utf8` reports as `valid_up_to` when its `error_len` is
/// `Some`, without its set-up, which dominates on a dozen bytes.
fn first_invalid_utf8(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&lead) = b.get(i) {
        // Length, and the range of the second byte (the first continuation
        // byte is narrower after E0, ED, F0 and F4: no overlong forms, no
        // surrogates, nothing past U+10FFFF).
        let (len, lo, hi) = match lead {
            0x00..=0x7F => {
                i += 1;
                continue;
            }
            0xC2..=0xDF => (2, 0x80, 0xBF),
            0xE0 => (3, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
            0xED => (3, 0x80, 0x9F),
            0xF0 => (4, 0x90, 0xBF),
            0xF1..=0xF3 => (4, 0x80, 0xBF),
            0xF4 => (4, 0x80, 0x8F),
            _ => return Some(i),
        };
        for j in 1..len {
            // Cut short by the end: not invalid (yet).
            let &x = b.get(i + j)?;
            let (l, h) = if j == 1 { (lo, hi) } else { (0x80, 0xBF) };
            if !(l..=h).contains(&x) {
                return Some(i);
            }
        }
        i += len;
    }
    None
}

/// Value of a base64 digit (standard alphabet), `0xff` for any other byte.
static B64VAL_STD: [u8; 256] = b64_values(b'+', b'/');
/// Value of a base64url digit, `0xff` for any other byte.
static B64VAL_URL: [u8; 256] = b64_values(b'-', b'_');

const fn b64_values(sym62: u8, sym63: u8) -> [u8; 256] {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[sym62 as usize] = 62;
    t[sym63 as usize] = 63;
    t
}

/// Whether decoded bytes are text worth rescanning: valid UTF-8 and almost
/// no control characters. Random keys and compressed data fail this at once.
pub(crate) fn is_texty(d: &[u8]) -> bool {
    if d.len() < 8 {
        return false;
    }
    let s = match std::str::from_utf8(d) {
        Ok(s) => s,
        Err(e) => {
            // A run cut mid-character still counts if the rest is text.
            if d.len() - e.valid_up_to() > 3 {
                return false;
            }
            match std::str::from_utf8(&d[..e.valid_up_to()]) {
                Ok(s) => s,
                Err(_) => return false,
            }
        }
    };
    let total = s.len().max(1);
    let bad = s
        .bytes()
        .filter(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    bad * 50 < total
}

/// Bytes a percent-encoded run is read on either side of an escape: longer
/// runs (no URL is that long) are read in windows, so that the decoding and
/// its rescan stay linear.
const PERCENT_REACH: usize = 4096;
/// Bytes a window of a long percent-encoded run repeats of the one before
/// it: a key cut from its value by the window's edge is read again with it.
const PERCENT_OVERLAP: usize = 256;

/// A percent-encoded run (or a window of a long one) and its decoding.
pub(crate) struct PercentRun {
    pub(crate) span: Range<usize>,
    pub(crate) decoded: Vec<u8>,
}

/// Percent-encoded runs: spans containing a `%XX` escape, with their
/// decoding. One escape is enough to hide a provider prefix (`npm%5F...`,
/// `ghp%5F...`).
/// `percents` are the positions of `%` in `text`, in order (from
/// [`crate::classify`]).
pub(crate) fn percent_runs(
    text: &[u8],
    percents: impl Iterator<Item = usize>,
    out: &mut Vec<PercentRun>,
) {
    let is_url = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'%' | b'.'
                    | b'_'
                    | b'~'
                    | b'+'
                    | b'-'
                    | b'/'
                    | b'='
                    | b'&'
                    | b'?'
                    | b':'
                    | b'@'
                    | b'!'
                    | b'*'
                    | b','
                    | b';'
                    | b'$'
            )
    };
    let mut from = 0;
    for p in percents {
        if p < from {
            continue;
        }
        if !is_escape(text, p) {
            continue;
        }
        // Back into the run before only when it goes on into this one (it
        // ended at its reach), and then by the overlap.
        let mut a = p;
        let floor = p
            .saturating_sub(PERCENT_REACH)
            .max(from.saturating_sub(PERCENT_OVERLAP));
        while a > floor && is_url(text[a - 1]) {
            a -= 1;
        }
        let mut b = p;
        let ceil = (p + PERCENT_REACH).min(text.len());
        while b < ceil && is_url(text[b]) {
            b += 1;
        }
        from = b;
        if let Some(decoded) = decode_percent(&text[a..b]) {
            out.push(PercentRun {
                span: a..b,
                decoded,
            });
        }
    }
}

/// The decoding of a percent-encoded run (`+` as a blank), or `None` when it
/// has no escape or is too short to hide anything. Also decodes the pieces a
/// finding leaves of a run, as a second pass would see them.
pub(crate) fn decode_percent(run: &[u8]) -> Option<Vec<u8>> {
    let escapes = (0..run.len()).filter(|&i| is_escape(run, i)).count();
    if escapes == 0 || run.len() < MIN_ENCODED {
        return None;
    }
    let mut d = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        if is_escape(run, i) {
            d.push(hex_or_zero(run[i + 1]) << 4 | hex_or_zero(run[i + 2]));
            i += 3;
        } else {
            d.push(if run[i] == b'+' { b' ' } else { run[i] });
            i += 1;
        }
    }
    Some(d)
}

fn is_escape(t: &[u8], i: usize) -> bool {
    t.get(i) == Some(&b'%')
        && t.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && t.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lower_case_uuids_are_left_out_of_the_runs() {
        let found = |t: &[u8]| {
            let mut v = Vec::new();
            runs(t, MIN_ENCODED, &mut v);
            v.len()
        };
        assert_eq!(found(b"id 550e8400-e29b-41d4-a716-446655440000 ok"), 0);
        for kept in [
            &b"id 550E8400-E29B-41D4-A716-446655440000 ok"[..],
            b"x.550e8400-e29b-41d4-a716-446655440000",
            b"123456789:550e8400-e29b-41d4-a716-446655440000",
            b"id 550e8400-e29b-41d4-a716-446655440000== ok",
            b"id 550e8400e-29b-41d4-a716-446655440000 ok",
            b"id 550e8400-e29b-41d4-a716_446655440000 ok",
            b"id 550e8400-e29b-41d4-a716-44665544000g ok",
        ] {
            assert_eq!(found(kept), 1, "{}", String::from_utf8_lossy(kept));
        }
        // A UUID line after a full line of base64 still joins it.
        let wrapped =
            b"QUtJQUlPU0ZPRE5ON0VYQU1QTEVRVUtKUVVsUFUw\n550e8400-e29b-41d4-a716-446655440000\n";
        let mut v = Vec::new();
        runs(wrapped, MIN_ENCODED, &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].segment_count(), 2);
    }

    #[test]
    fn runs_are_the_maximal_token_runs_long_enough() {
        // Token runs of every length around `need`, across block edges,
        // running into the end of the text, and spanning whole blocks;
        // `=` now and then (padding, or a separator).
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for case in 0..3000 {
            let len = (crate::testing::xorshift(&mut rng) % 300) as usize;
            let long = case % 7 == 0;
            let separators = if long { 200 } else { 24 };
            let t: Vec<u8> = (0..len)
                .map(|_| match crate::testing::xorshift(&mut rng) % separators {
                    0 => b' ',
                    1 => b'=',
                    2 => b'\n',
                    _ => b'q',
                })
                .collect();
            for min_len in [1, 2, 8, MIN_ENCODED, 40, 66] {
                let mut found = Vec::new();
                runs(&t, min_len, &mut found);
                // Wrapped lines join into one run: compare their segments.
                let found: Vec<Range<usize>> = found.iter().flat_map(|r| r.segments(&t)).collect();
                // Byte at a time: maximal runs of token bytes, with up to
                // two `=` after them, of at least `min_len` bytes with them
                // and `min_len - 2` without (`q` runs are not UUIDs).
                let mut want = Vec::new();
                let mut i = 0;
                while i < t.len() {
                    if t[i] != b'q' {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    while i < t.len() && t[i] == b'q' {
                        i += 1;
                    }
                    let mut end = i;
                    while end < t.len() && end - i < 2 && t[end] == b'=' {
                        end += 1;
                    }
                    let need = min_len.saturating_sub(2).clamp(1, 64);
                    if i - start >= need && end - start >= min_len {
                        want.push(start..end);
                    }
                }
                assert_eq!(found, want, "case {case}, min_len {min_len}");
            }
        }
    }

    #[test]
    fn runs_are_the_same_with_and_without_avx512() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || crate::testing::xorshift(&mut state);
        const BYTES: &[u8] = b"aZ09+/-_= \n.:AKIAghp_";
        for _ in 0..300 {
            let len = next() as usize % 3000;
            let text: Vec<u8> = (0..len)
                .map(|_| match next() % 8 {
                    0 => BYTES[next() as usize % BYTES.len()],
                    _ => b"abcdefXYZ0123456789"[next() as usize % 19],
                })
                .collect();
            let classes = crate::classify::classify(&text);
            let (mut fast, mut plain) = (Vec::new(), Vec::new());
            runs_in(&text, &classes.tok, MIN_ENCODED, &mut fast);
            runs_in_with(&text, &classes.tok, MIN_ENCODED, &mut plain, |t, r| {
                crate::classify::run_flags(&t[r])
            });
            assert_eq!(format!("{fast:?}"), format!("{plain:?}"));
        }
    }

    #[test]
    fn utf8_errors_agrees_with_first_invalid_utf8() {
        const EDGES: &[u8] = &[
            0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
            0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..400_000 {
            let mut b = [0u8; 12];
            for x in &mut b {
                let r = crate::testing::xorshift(&mut rng);
                *x = if n % 2 == 0 {
                    EDGES[r as usize % EDGES.len()]
                } else {
                    r as u8
                };
            }
            assert_eq!(
                utf8_errors({
                    let mut q = [0u8; 16];
                    q[..12].copy_from_slice(&b);
                    u8x16::new(q)
                }) == 0,
                first_invalid_utf8(&b).is_none(),
                "{b:x?}"
            );
        }
    }

    #[test]
    fn first_invalid_utf8_agrees_with_the_standard_library() {
        let std_answer = |b: &[u8]| match std::str::from_utf8(b) {
            Err(e) if e.error_len().is_some() => Some(e.valid_up_to()),
            _ => None,
        };
        // Every one- and two-byte string, every lead byte with every second
        // byte and a third, and random strings of up to twelve bytes.
        for a in 0..=255u8 {
            assert_eq!(first_invalid_utf8(&[a]), std_answer(&[a]), "{a:#x}");
            for c in 0..=255u8 {
                for d in [0x00, 0x80, 0x9f, 0xa0, 0xbf, 0xc0] {
                    let s = [a, c, d];
                    assert_eq!(first_invalid_utf8(&s), std_answer(&s), "{s:x?}");
                    assert_eq!(first_invalid_utf8(&s[..2]), std_answer(&s[..2]), "{s:x?}");
                }
            }
        }
        for s in [
            &b"\xf0\x9f\x98\x80\xff"[..],
            b"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xf4\x90",
            b"a\xe2\x82\xacb\xc0",
            b"\xed\x9f\xbf\xed\xa0\x80",
            b"\xef\xbf\xbf\xf0\x8f\xbf\xbf",
            b"\xc2\x80\xdf\xbf\xe0\xa0",
        ] {
            assert_eq!(first_invalid_utf8(s), std_answer(s), "{s:x?}");
        }
        let mut rng = 0x0123_4567_89ab_cdefu64;
        for _ in 0..200_000 {
            crate::testing::xorshift(&mut rng);
            let len = (rng % 13) as usize;
            let bytes = rng.to_le_bytes();
            let mut s = [0u8; 12];
            for (i, x) in s.iter_mut().enumerate() {
                // Mostly bytes that start or continue sequences.
                *x = bytes[i % 8].rotate_left(i as u32) | if i % 3 == 0 { 0x80 } else { 0 };
            }
            assert_eq!(
                first_invalid_utf8(&s[..len]),
                std_answer(&s[..len]),
                "{:x?}",
                &s[..len]
            );
        }
    }

    #[test]
    fn surely_not_texty_never_contradicts_a_full_decoding() {
        use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
        let mut rng = 0x1234_5678_9abc_def0u64;
        let mut next = || crate::testing::xorshift(&mut rng);
        let (mut skipped, mut texty) = (0, 0);
        for n in 0..4000 {
            let len = 8 + (next() % 90) as usize;
            // Text, random bytes, and text with a bad byte early or late.
            let mut raw: Vec<u8> = (0..len).map(|_| b' ' + (next() % 95) as u8).collect();
            match n % 4 {
                0 => {}
                1 => raw.iter_mut().for_each(|b| *b = next() as u8),
                2 => raw[(next() % 8) as usize] = 0x80 | next() as u8,
                _ => raw[len - 1 - (next() % 4) as usize] = 0xc3,
            }
            let encoded = match n % 3 {
                0 => raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                1 => B64.encode(&raw),
                _ => B64URL.encode(&raw),
            };
            let mut v = Vec::new();
            runs(encoded.as_bytes(), MIN_ENCODED, &mut v);
            for run in &v {
                let mut d = Vec::new();
                let is_text = decode_run(encoded.as_bytes(), run, &mut d).is_some() && is_texty(&d);
                texty += usize::from(is_text);
                if surely_not_texty(encoded.as_bytes(), run) {
                    skipped += 1;
                    assert!(!is_text, "{encoded}");
                }
            }
        }
        // Both outcomes were exercised.
        assert!(skipped > 500 && texty > 500, "{skipped} {texty}");
    }

    #[test]
    fn splits_on_equals_and_keeps_padding() {
        let t = b"AccountKey=QUtJQUlPU0ZPRE5ON0VYQU1QTEU= x";
        let mut v = Vec::new();
        runs(t, 8, &mut v);
        let spans: Vec<_> = v.iter().map(|r| &t[r.span.clone()]).collect();
        assert_eq!(
            spans,
            vec![&b"AccountKey="[..], &b"QUtJQUlPU0ZPRE5ON0VYQU1QTEU="[..]]
        );
        let mut d = Vec::new();
        let e = decode_run(t, &v[1], &mut d).expect("decodes");
        assert_eq!(e, Encoding::Base64);
        assert_eq!(d, b"AKIAIOSFODNN7EXAMPLE");
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one-range lists are the data
    fn gaps_are_the_parts_outside_the_cuts() {
        let g = |span: Range<usize>, cuts: &[Range<usize>]| {
            let mut v = Vec::new();
            gaps(span, cuts, |r| v.push(r));
            v
        };
        assert_eq!(g(10..20, &[]), [10..20]);
        assert_eq!(g(10..20, &[0..5, 25..30]), [10..20]);
        assert_eq!(g(10..20, &[0..12, 14..15, 18..40]), [12..14, 15..18]);
        assert!(g(10..20, &[5..25]).is_empty());
        assert_eq!(g(10..20, &[10..11, 19..20]), [11..19]);
    }

    #[test]
    fn percent() {
        let mut v = Vec::new();
        let t = b"q=password%3Dhunter2%21x&y=1";
        percent_runs(t, memchr::memchr_iter(b'%', t), &mut v);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].decoded, b"q=password=hunter2!x&y=1");
        assert_eq!(v[0].span, 0..t.len());
    }

    #[test]
    fn long_percent_runs_are_read_in_overlapping_windows() {
        let t = "k%3Dv%26".repeat(3000); // 24 000 bytes, no break
        let mut v = Vec::new();
        percent_runs(
            t.as_bytes(),
            memchr::memchr_iter(b'%', t.as_bytes()),
            &mut v,
        );
        assert!(v.len() >= 3);
        assert_eq!(v[0].span.start, 0);
        assert_eq!(v[v.len() - 1].span.end, t.len());
        for w in v.windows(2) {
            // Each window repeats the end of the one before it.
            assert_eq!(w[1].span.start, w[0].span.end - PERCENT_OVERLAP);
            assert!(w[0].span.len() <= 2 * PERCENT_REACH + 1);
        }
    }
}

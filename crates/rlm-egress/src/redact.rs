//! Applying findings: redaction by byte span and head+tail truncation.
//!
//! Redaction always works on the spans found in the full text, never by
//! searching for the secret again in some copy (a truncated or re-encoded copy
//! would miss it). Truncation comes after redaction, on the redacted text, so
//! a cut can never expose half a secret that redaction would have caught.

use std::ops::Range;

use crate::finding::Finding;

/// One merged span and the finding that names its marker.
pub(crate) struct Merged<'a> {
    pub(crate) span: Range<usize>,
    pub(crate) lead: &'a Finding,
}

/// Merges overlapping or touching findings (which must be sorted with
/// [`crate::finding::sort_findings`]). The marker of a merged span names the
/// most confident finding, the longest on ties.
pub(crate) fn merge(findings: &[Finding]) -> Vec<Merged<'_>> {
    let mut out: Vec<Merged<'_>> = Vec::new();
    for f in findings {
        if f.span.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(m) if f.span.start <= m.span.end => {
                m.span.end = m.span.end.max(f.span.end);
                if (f.confidence, f.len()) > (m.lead.confidence, m.lead.len()) {
                    m.lead = f;
                }
            }
            _ => out.push(Merged {
                span: f.span.clone(),
                lead: f,
            }),
        }
    }
    out
}

/// `spans` sorted by start, overlapping or touching ones joined.
pub(crate) fn union(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for r in spans {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The kept stretches of an input of `len` bytes, each followed by the
/// detector whose marker replaces the span after it (`None` after the
/// last stretch).
fn pieces<'a>(
    len: usize,
    findings: &'a [Finding],
) -> impl Iterator<Item = (Range<usize>, Option<&'static str>)> + 'a {
    let mut merged = merge(findings).into_iter();
    let mut at = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        for m in merged.by_ref() {
            let s = m.span.start.min(len);
            if s < at {
                continue;
            }
            let keep = at..s;
            at = m.span.end.min(len);
            return Some((keep, Some(m.lead.detector)));
        }
        done = true;
        Some((at.min(len)..len, None))
    })
}

/// Room for the redacted copy of `input`: markers can be longer than what
/// they replace, and growing a copy of a large output copies it again.
fn redacted_capacity(input_len: usize, findings: &[Finding]) -> usize {
    let markers: usize = findings
        .iter()
        .map(|f| "[REDACTED:]".len() + f.detector.len())
        .sum();
    input_len.saturating_add(markers)
}

/// Replaces every finding's span by its marker `[REDACTED:<detector>]`.
pub(crate) fn redact(input: &[u8], findings: &[Finding]) -> Vec<u8> {
    let mut out = Vec::with_capacity(redacted_capacity(input.len(), findings));
    for (keep, marker) in pieces(input.len(), findings) {
        out.extend_from_slice(&input[keep]);
        if let Some(detector) = marker {
            out.extend_from_slice(b"[REDACTED:");
            out.extend_from_slice(detector.as_bytes());
            out.push(b']');
        }
    }
    out
}

/// [`redact`] for text: `None` when a finding starts or ends inside a
/// character (then the byte version and a lossy conversion are used).
pub(crate) fn redact_str(input: &str, findings: &[Finding]) -> Option<String> {
    let mut out = String::with_capacity(redacted_capacity(input.len(), findings));
    for (keep, marker) in pieces(input.len(), findings) {
        out.push_str(input.get(keep)?);
        if let Some(detector) = marker {
            out.push_str("[REDACTED:");
            out.push_str(detector);
            out.push(']');
        }
    }
    Some(out)
}

/// Largest index `<= i` on a UTF-8 character boundary of `s`.
pub(crate) fn floor_boundary(s: &[u8], i: usize) -> usize {
    let mut i = i.min(s.len());
    // At most 3 continuation bytes precede a boundary in valid UTF-8; in
    // invalid input we stop after 3 anyway.
    let mut steps = 0;
    while i > 0 && i < s.len() && (s[i] & 0xC0) == 0x80 && steps < 3 {
        i -= 1;
        steps += 1;
    }
    i
}

/// Smallest index `>= i` on a UTF-8 character boundary of `s`.
pub(crate) fn ceil_boundary(s: &[u8], i: usize) -> usize {
    let mut i = i.min(s.len());
    let mut steps = 0;
    while i < s.len() && (s[i] & 0xC0) == 0x80 && steps < 3 {
        i += 1;
        steps += 1;
    }
    i
}

/// Keeps the head and the tail of `out` within `cap` bytes, marker included,
/// cutting on character boundaries. Returns whether anything was cut.
pub(crate) fn truncate_head_tail(out: &mut Vec<u8>, cap: usize) -> bool {
    if out.len() <= cap {
        return false;
    }
    let cut = out.len() - cap;
    // The marker states how much was dropped; its own length depends on that
    // number, so size it for the worst case.
    let marker_max = format!("\n[... truncated {} bytes ...]\n", out.len()).len();
    if cap <= marker_max {
        let h = floor_boundary(out, cap);
        out.truncate(h);
        return true;
    }
    let room = cap - marker_max;
    let head = floor_boundary(out, room / 2 + room % 2);
    let tail = ceil_boundary(out, out.len() - room / 2);
    let dropped = tail - head;
    let _ = cut;
    let marker = format!("\n[... truncated {dropped} bytes ...]\n");
    let mut v = Vec::with_capacity(cap);
    v.extend_from_slice(&out[..head]);
    v.extend_from_slice(marker.as_bytes());
    v.extend_from_slice(&out[tail..]);
    *out = v;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{sort_findings, Confidence};

    #[test]
    fn merges_and_names_the_most_confident() {
        let mut f = vec![
            Finding::new("high-entropy", "x", 2..10, Confidence::Low),
            Finding::new("aws-access-key", "y", 4..12, Confidence::High),
            Finding::new("jwt", "z", 20..22, Confidence::High),
        ];
        sort_findings(&mut f);
        let out = redact(b"0123456789abcdefghijklmnop", &f);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "01[REDACTED:aws-access-key]cdefghij[REDACTED:jwt]mnop"
        );
    }

    #[test]
    fn text_and_byte_redaction_agree() {
        let text = "héllo wörld, key AKIA0123 and more text";
        let cases: Vec<Vec<Range<usize>>> = vec![
            vec![],
            vec![0..3],
            vec![3..9, 7..12],
            vec![17..25, 30..200],
            vec![5..5, 40..41],
        ];
        for spans in cases {
            let mut f: Vec<Finding> = spans
                .iter()
                .map(|r| Finding::new("aws-access-key", "r", r.clone(), Confidence::High))
                .collect();
            sort_findings(&mut f);
            let bytes = redact(text.as_bytes(), &f);
            assert_eq!(
                redact_str(text, &f).map(String::into_bytes),
                Some(bytes),
                "{spans:?}"
            );
        }
        // A span ending inside `é` has no text version.
        let f = vec![Finding::new("jwt", "r", 0..2, Confidence::High)];
        assert_eq!(redact_str(text, &f), None);
    }

    #[test]
    fn truncation_respects_cap_and_utf8() {
        let mut s = "é".repeat(1000).into_bytes();
        assert!(truncate_head_tail(&mut s, 100));
        assert!(s.len() <= 100);
        assert!(std::str::from_utf8(&s).is_ok());
        let mut s = b"short".to_vec();
        assert!(!truncate_head_tail(&mut s, 100));
    }
}

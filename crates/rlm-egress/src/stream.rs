//! [`StreamFilter`]: the filter over chunked input, with bounded memory.
//!
//! The stream keeps a window of unreleased bytes. When it holds at least
//! `2 × HOLD` bytes it is scanned, and all but the last `HOLD` bytes are
//! released (redacted). Every secret format this crate knows is shorter than
//! `HOLD`, so a secret that straddles a chunk boundary is always whole in some
//! window before any of it is released. The cut is moved so that it never
//! falls inside a token run (base64 stays aligned) or a finding.

use crate::error::Blocked;
use crate::filter::{EgressFilter, Mode, Scope};
use crate::finding::{sort_findings, Confidence, Finding};
use crate::redact;

/// Bytes held back from release: longer than any secret (a PEM block of a
/// 4096-bit RSA key is ~3.3 KiB; a PGP block ~7 KiB; JWTs a few KiB).
pub const HOLD: usize = 32 * 1024;

/// What a finished stream reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEnd {
    /// The last bytes to send (the held-back window, and the retained tail
    /// when the cap cut the stream).
    pub output: Vec<u8>,
    /// Every finding of the stream not taken by
    /// [`StreamFilter::take_findings`], spans in stream offsets.
    pub findings: Vec<Finding>,
    /// Whether the output cap dropped bytes from the middle.
    pub truncated: bool,
    /// Estimated context bytes released by the stream.
    pub context_bytes_released: usize,
}

/// Streaming variant of [`EgressFilter::apply`]. Feed chunks with
/// [`push`](Self::push), send what it returns, then call
/// [`finish`](Self::finish) and send its output too.
///
/// Memory is `O(HOLD + chunk + max_output_bytes)` plus the findings not yet
/// taken: call [`take_findings`](Self::take_findings) after each push (to log
/// them as they come) and it is independent of the stream's length and of
/// how much it leaks. In block mode the first finding stops the stream; what
/// was already returned was clean.
#[derive(Debug)]
pub struct StreamFilter<'a> {
    filter: &'a EgressFilter,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: usize,
    findings: Vec<Finding>,
    released: usize,
    /// Output bytes sent so far (head part of the cap).
    sent: usize,
    /// Retained output past the head budget; only its last bytes survive.
    tail: Vec<u8>,
    dropped: usize,
    sniffed: bool,
    binary: bool,
}

impl<'a> StreamFilter<'a> {
    pub(crate) fn new(filter: &'a EgressFilter) -> Self {
        StreamFilter {
            filter,
            buf: Vec::new(),
            offset: 0,
            findings: Vec::new(),
            released: 0,
            sent: 0,
            tail: Vec::new(),
            dropped: 0,
            sniffed: false,
            binary: false,
        }
    }

    /// Adds a chunk; returns the bytes now safe to send (possibly none).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Blocked> {
        if self.binary {
            self.offset += chunk.len();
            if let Some(f) = self.findings.first_mut() {
                f.span.end = self.offset;
            }
            return Ok(Vec::new());
        }
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        if !self.sniffed && self.buf.len() >= 8 * 1024 {
            if let Some(o) = self.sniff()? {
                return Ok(o);
            }
        }
        while self.buf.len() >= 2 * HOLD {
            let part = self.process(false)?;
            out.extend(part);
        }
        Ok(out)
    }

    /// Takes the findings of the bytes released so far (spans in stream
    /// offsets, sorted as [`StreamEnd::findings`]); [`finish`](Self::finish) then reports
    /// only those found after. A binary stream's one finding grows with the
    /// stream, so it stays for `finish`.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        if self.binary {
            return Vec::new();
        }
        let mut taken = std::mem::take(&mut self.findings);
        sort_findings(&mut taken);
        taken
    }

    /// Ends the stream: scans and releases the rest.
    pub fn finish(mut self) -> Result<StreamEnd, Blocked> {
        let mut output = Vec::new();
        if !self.binary && !self.sniffed {
            if let Some(o) = self.sniff()? {
                output.extend(o);
            }
        }
        if !self.binary {
            while !self.buf.is_empty() {
                let part = self.process(true)?;
                output.extend(part);
            }
        }
        let truncated = self.dropped > 0;
        if truncated {
            output.extend_from_slice(
                format!("\n[... truncated {} bytes ...]\n", self.dropped).as_bytes(),
            );
        }
        output.append(&mut self.tail);
        sort_findings(&mut self.findings);
        Ok(StreamEnd {
            output,
            findings: self.findings,
            truncated,
            context_bytes_released: self.released,
        })
    }

    /// Binary sniffing on the first bytes of the stream.
    fn sniff(&mut self) -> Result<Option<Vec<u8>>, Blocked> {
        self.sniffed = true;
        let Some(kind) = crate::binary::detect(&self.buf) else {
            return Ok(None);
        };
        let f = Finding::new("binary-output", kind, 0..self.buf.len(), Confidence::High);
        if self.filter.mode() == Mode::Block {
            return Err(Blocked { findings: vec![f] });
        }
        let marker = f.marker().into_bytes();
        self.offset = self.buf.len();
        self.buf = Vec::new();
        self.findings.push(f);
        self.binary = true;
        Ok(Some(self.cap(marker)))
    }

    /// Scans the window and releases its safe prefix (all of it when
    /// `last`).
    fn process(&mut self, last: bool) -> Result<Vec<u8>, Blocked> {
        let rep = self.filter.report(
            &self.buf,
            Scope {
                context: true,
                binary: false,
            },
        );
        if self.filter.mode() == Mode::Block && !rep.findings.is_empty() {
            let findings = rep
                .findings
                .into_iter()
                .map(|mut f| {
                    f.span = f.span.start + self.offset..f.span.end + self.offset;
                    f
                })
                .collect();
            return Err(Blocked { findings });
        }
        let n = self.buf.len();
        let mut cut = if last { n } else { self.cut_point(n - HOLD) };
        // A finding across the cut is released whole when it is whole here.
        if !last {
            loop {
                let mut moved = false;
                for f in &rep.findings {
                    if f.span.start < cut && f.span.end > cut && f.span.end < n {
                        cut = f.span.end;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        let mut released_findings = Vec::new();
        for f in &rep.findings {
            if f.span.start < cut {
                let mut g = f.clone();
                g.span.end = g.span.end.min(cut);
                released_findings.push(g);
            }
        }
        for (span, est) in &rep.quotes {
            if span.end <= cut {
                self.released = self.released.saturating_add(*est);
            }
        }
        let out = redact::redact(&self.buf[..cut], &released_findings);
        for mut f in released_findings {
            f.span = f.span.start + self.offset..f.span.end + self.offset;
            self.findings.push(f);
        }
        self.buf.drain(..cut);
        self.offset += cut;
        Ok(self.cap(out))
    }

    /// Moves a cut out of a token run: to the run's start, or, for a run that
    /// fills the window (a long base64 blob), to a multiple of 4 bytes into
    /// it so that decoding of the rest stays aligned. Never inside a UTF-8
    /// character.
    fn cut_point(&self, target: usize) -> usize {
        let b = &self.buf;
        let tokenish = crate::encoded::is_run_byte;
        let mut cut = target;
        if cut > 0 && cut < b.len() && tokenish(b[cut - 1]) && tokenish(b[cut]) {
            let mut s = cut;
            while s > 0 && tokenish(b[s - 1]) {
                s -= 1;
            }
            cut = if s > 0 { s } else { cut - cut % 4 };
        }
        let c = redact::floor_boundary(b, cut);
        if c == 0 {
            // Never stall: release at least something.
            target.max(1)
        } else {
            c
        }
    }

    /// Applies the output cap across the stream: the head goes out as it
    /// comes, then only the last bytes are kept for `finish`.
    fn cap(&mut self, out: Vec<u8>) -> Vec<u8> {
        let Some(cap) = self.filter.max_output_bytes() else {
            return out;
        };
        let marker_room = 48;
        let half = cap.saturating_sub(marker_room) / 2;
        let head_room = half.saturating_sub(self.sent);
        let take = redact::floor_boundary(&out, head_room.min(out.len()));
        let (head, rest) = out.split_at(if head_room >= out.len() {
            out.len()
        } else {
            take
        });
        self.sent += head.len();
        let head = head.to_vec();
        if !rest.is_empty() {
            self.tail.extend_from_slice(rest);
            if self.tail.len() > half {
                let excess = self.tail.len() - half;
                let cut = redact::ceil_boundary(&self.tail, excess);
                self.dropped += cut;
                self.tail.drain(..cut);
            }
        }
        head
    }
}

//! What a detector reports: where, which detector, which rule, how sure.
//!
//! A [`Finding`] deliberately holds no text of the output: only a byte span
//! into it. Findings end up in logs, `Debug` output, errors and JSON sent to
//! other tools, and none of those may carry the secret they point at.

use std::fmt;
use std::ops::Range;

/// How sure a detector is that a span is a leak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// Shape-only evidence, e.g. a high-entropy token with no provider prefix.
    Low,
    /// A keyword plus a plausible value, e.g. `password = "..."`.
    Medium,
    /// A provider-specific format, a private-key block, verbatim context.
    High,
}

impl Confidence {
    /// Lower-case name, as used in JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// The encoding a finding was found under, when it was not found in the clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Standard base64 (`+/`), padded or not.
    Base64,
    /// URL-safe base64 (`-_`), padded or not.
    Base64Url,
    /// Hexadecimal, either case.
    Hex,
    /// Percent-encoding (`%41`).
    Percent,
}

impl Encoding {
    /// Lower-case name, as used in rule names and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
        }
    }
}

/// One leak located in an output.
///
/// `span` is a byte range of the text that was scanned (for [`crate::StreamFilter`],
/// of the whole stream). It always lies on UTF-8 character boundaries when the
/// input was UTF-8.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Detector family, also the redaction marker: `[REDACTED:<detector>]`.
    pub detector: &'static str,
    /// The rule inside the detector that fired.
    pub rule: &'static str,
    /// Byte range of the leak in the scanned text.
    pub span: Range<usize>,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// Set when the leak was found by decoding the span first.
    pub encoding: Option<Encoding>,
}

impl Finding {
    pub(crate) fn new(
        detector: &'static str,
        rule: &'static str,
        span: Range<usize>,
        confidence: Confidence,
    ) -> Self {
        Finding {
            detector,
            rule,
            span,
            confidence,
            encoding: None,
        }
    }

    /// Length of the span in bytes.
    pub fn len(&self) -> usize {
        self.span.end.saturating_sub(self.span.start)
    }

    /// Whether the span is empty (never for findings this crate reports).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The marker that replaces the span when redacting.
    pub fn marker(&self) -> String {
        format!("[REDACTED:{}]", self.detector)
    }
}

// Written by hand so that nobody adds a field carrying text and has it show
// up in `{:?}` without thinking: the format lists exactly what is safe.
impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Finding");
        d.field("detector", &self.detector)
            .field("rule", &self.rule)
            .field("span", &self.span)
            .field("confidence", &self.confidence);
        if let Some(e) = self.encoding {
            d.field("encoding", &e);
        }
        d.finish()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} at bytes {}..{}",
            self.detector, self.rule, self.span.start, self.span.end
        )?;
        if let Some(e) = self.encoding {
            write!(f, " ({}-encoded)", e.as_str())?;
        }
        Ok(())
    }
}

/// Sorts findings by start, longer first on ties, so that merging is one pass.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.span
            .start
            .cmp(&b.span.start)
            .then(b.span.end.cmp(&a.span.end))
            .then(b.confidence.cmp(&a.confidence))
    });
}

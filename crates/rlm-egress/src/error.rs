//! Errors of this crate. None carries any text of the scanned output.

use crate::finding::Finding;

/// The output was refused (block mode, or the disclosure budget is spent).
///
/// Lists what was found, by detector and span only: the message is safe to
/// log and to show to the model.
#[derive(Clone, Debug, thiserror::Error)]
#[error("output blocked by the egress filter: {}", summary(.findings))]
pub struct Blocked {
    /// What was found, sorted by position.
    pub findings: Vec<Finding>,
}

fn summary(findings: &[Finding]) -> String {
    const SHOWN: usize = 5;
    let mut s: Vec<String> = findings.iter().take(SHOWN).map(|f| f.to_string()).collect();
    if findings.len() > SHOWN {
        s.push(format!("and {} more", findings.len() - SHOWN));
    }
    if s.is_empty() {
        return "no detail".to_string();
    }
    format!(
        "{} finding(s): {}; print less, or print derived values instead of raw secrets or context",
        findings.len(),
        s.join(", ")
    )
}

/// Building a filter failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A built-in rule did not compile: a bug in this crate, please report it.
    #[error("internal error compiling the egress rules (please report): {0}")]
    Rules(String),
    /// The output cap is too small to hold even the truncation marker.
    #[error("max_output_bytes = {0} is too small; use at least 64 bytes")]
    OutputCapTooSmall(usize),
    /// The entropy override is not a number of bits per character in (0, 8].
    #[error(
        "entropy threshold {0} is out of range; use bits per character in (0, 8] or leave it unset"
    )]
    EntropyOutOfRange(f64),
}

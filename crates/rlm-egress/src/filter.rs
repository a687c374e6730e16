//! [`EgressFilter`]: runs every detector over an output and applies the
//! configured action.
//!
//! One scan is: binary sniffing; one keyword automaton pass feeding the
//! provider rules; one pass over token runs feeding the entropy judge and the
//! decoder of base64/hex runs; a `memchr` pass for percent-encoding; and the
//! sampled context-echo lookup. Decoded text is scanned again by the same
//! code, one level deeper, up to a fixed depth.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use crate::binary;
use crate::budget::DisclosureBudget;
use crate::classify::{classify, Classes};
use crate::context::{ContextIndex, EchoRun};
use crate::encoded::{self, Run, NONHEX, STDSYM};
use crate::entropy::{EntropyJudge, Verdict, MAX_TOKEN, MIN_B64_TOKEN};
use crate::error::{Blocked, BuildError};
use crate::finding::{sort_findings, Confidence, Encoding, Finding};
use crate::prefetch::Prefetch;
use crate::redact;
use crate::rules::RuleSet;
use crate::stream::StreamFilter;

/// Rounds of judging the pieces that findings leave of token runs (each
/// round's findings may leave smaller pieces); a guard, as pieces only
/// shrink.
const MAX_PIECE_ROUNDS: usize = 8;

/// Default longest verbatim run of the context that may leave (bytes).
pub const DEFAULT_MAX_CONTEXT_ECHO: usize = 64;
/// Default output cap (bytes), matching rlm-config's `max_stdout_bytes`.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// Default depth of nested decoding (base64 inside hex inside ...).
pub const DEFAULT_MAX_DECODE_DEPTH: usize = 2;

/// What to do with an output that has findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Replace each finding by `[REDACTED:<detector>]` and let the rest out.
    #[default]
    Redact,
    /// Refuse the whole output with [`Blocked`].
    Block,
}

/// The result of [`EgressFilter::apply`] when the output may leave.
#[derive(Clone, PartialEq, Eq)]
pub struct Filtered {
    /// The text to send: redacted, then capped.
    pub output: String,
    /// What was found and redacted, spans in the input.
    pub findings: Vec<Finding>,
    /// Whether the head+tail cap cut the output.
    pub truncated: bool,
    /// Estimated bytes of the protected context this output lets out (short
    /// quotes under the echo limit), for a [`DisclosureBudget`].
    pub context_bytes_released: usize,
}

impl Filtered {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

// The output is what goes to the model anyway, but keep Debug small and
// uniform with the rest of the crate: length, not content.
impl std::fmt::Debug for Filtered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filtered")
            .field("output_len", &self.output.len())
            .field("findings", &self.findings)
            .field("truncated", &self.truncated)
            .field("context_bytes_released", &self.context_bytes_released)
            .finish()
    }
}

/// Which detectors a scan runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) context: bool,
    pub(crate) binary: bool,
}

impl Scope {
    pub(crate) const ALL: Scope = Scope {
        context: true,
        binary: true,
    };
    pub(crate) const SECRETS: Scope = Scope {
        context: false,
        binary: false,
    };
}

/// Everything a scan learns, before any action.
#[derive(Default, Debug)]
pub(crate) struct Report {
    pub(crate) findings: Vec<Finding>,
    /// Context quotes under the limit: span and estimated context bytes.
    pub(crate) quotes: Vec<(Range<usize>, usize)>,
}

impl Report {
    pub(crate) fn released(&self) -> usize {
        self.quotes
            .iter()
            .map(|q| q.1)
            .fold(0usize, usize::saturating_add)
    }
}

/// The leak filter. Build once with [`EgressFilter::builder`], share freely
/// (it is `Send + Sync`), call [`apply`](Self::apply) per output.
pub struct EgressFilter {
    rules: Arc<RuleSet>,
    entropy: EntropyJudge,
    context: Option<Arc<ContextIndex>>,
    max_context_echo: usize,
    mode: Mode,
    max_output_bytes: Option<usize>,
    max_depth: usize,
}

impl std::fmt::Debug for EgressFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressFilter")
            .field("mode", &self.mode)
            .field("max_output_bytes", &self.max_output_bytes)
            .field("max_context_echo", &self.max_context_echo)
            .field("context", &self.context)
            .field("entropy_threshold", &self.entropy.fixed)
            .field("max_depth", &self.max_depth)
            .finish()
    }
}

/// Builder of [`EgressFilter`].
#[derive(Debug)]
pub struct EgressFilterBuilder {
    mode: Mode,
    max_output_bytes: Option<usize>,
    max_context_echo: usize,
    entropy_threshold: Option<f64>,
    context: Option<Arc<ContextIndex>>,
    context_bytes: Option<Vec<u8>>,
    max_depth: usize,
}

impl Default for EgressFilterBuilder {
    fn default() -> Self {
        EgressFilterBuilder {
            mode: Mode::Redact,
            max_output_bytes: Some(DEFAULT_MAX_OUTPUT_BYTES),
            max_context_echo: DEFAULT_MAX_CONTEXT_ECHO,
            entropy_threshold: None,
            context: None,
            context_bytes: None,
            max_depth: DEFAULT_MAX_DECODE_DEPTH,
        }
    }
}

impl EgressFilterBuilder {
    /// Redact (default) or block outputs with findings.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Cap on the filtered output, head and tail kept (default 64 KiB);
    /// `None` disables the cap.
    pub fn max_output_bytes(mut self, cap: Option<usize>) -> Self {
        self.max_output_bytes = cap;
        self
    }

    /// Longest verbatim run of the protected context allowed out (default 64).
    /// Ignored when an already built index is given with
    /// [`context_index`](Self::context_index), which carries its own.
    pub fn max_context_echo(mut self, bytes: usize) -> Self {
        self.max_context_echo = bytes;
        self
    }

    /// A fixed entropy threshold in bits per character, replacing the
    /// per-alphabet, per-length threshold (rlm-config `entropy_threshold`).
    pub fn entropy_threshold(mut self, bits: Option<f64>) -> Self {
        self.entropy_threshold = bits;
        self
    }

    /// The protected context; indexed when the filter is built.
    pub fn protected_context(mut self, context: impl Into<Vec<u8>>) -> Self {
        self.context_bytes = Some(context.into());
        self.context = None;
        self
    }

    /// An index built beforehand (share one per session between filters).
    pub fn context_index(mut self, index: Arc<ContextIndex>) -> Self {
        self.max_context_echo = index.max_echo();
        self.context = Some(index);
        self.context_bytes = None;
        self
    }

    /// Levels of nested encodings decoded (default 2).
    pub fn max_decode_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Compiles the rules (once per process: every filter shares them) and
    /// indexes the context.
    pub fn build(self) -> Result<EgressFilter, BuildError> {
        if let Some(cap) = self.max_output_bytes {
            if cap < 64 {
                return Err(BuildError::OutputCapTooSmall(cap));
            }
        }
        if let Some(t) = self.entropy_threshold {
            if !(t > 0.0 && t <= 8.0) {
                return Err(BuildError::EntropyOutOfRange(t));
            }
        }
        let rules = shared_rules()?;
        let context = match (self.context, self.context_bytes) {
            (Some(i), _) => Some(i),
            (None, Some(b)) => Some(Arc::new(ContextIndex::new(b, self.max_context_echo))),
            (None, None) => None,
        };
        Ok(EgressFilter {
            rules,
            entropy: EntropyJudge {
                fixed: self.entropy_threshold,
                ..EntropyJudge::default()
            },
            context,
            max_context_echo: self.max_context_echo,
            mode: self.mode,
            max_output_bytes: self.max_output_bytes,
            max_depth: self.max_depth,
        })
    }
}

/// The built-in rules, built on the first build in the process and shared
/// by every filter after it, so that each rule's regex is compiled once per
/// process, when first needed (~40 M instructions for all of them, about
/// 10 ms), however many sessions the orchestrator opens.
fn shared_rules() -> Result<Arc<RuleSet>, BuildError> {
    static RULES: std::sync::OnceLock<Arc<RuleSet>> = std::sync::OnceLock::new();
    if let Some(rules) = RULES.get() {
        return Ok(Arc::clone(rules));
    }
    // Two first builds racing each compile a set; one is kept.
    let built = Arc::new(RuleSet::new().map_err(|e| BuildError::Rules(e.to_string()))?);
    Ok(Arc::clone(RULES.get_or_init(|| built)))
}

impl EgressFilter {
    /// A builder with the defaults: redact, 64 KiB cap, 64-byte echo limit,
    /// no protected context.
    pub fn builder() -> EgressFilterBuilder {
        EgressFilterBuilder::default()
    }

    /// The configured mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The configured output cap.
    pub fn max_output_bytes(&self) -> Option<usize> {
        self.max_output_bytes
    }

    /// The protected context index, if any.
    pub fn context_index(&self) -> Option<&Arc<ContextIndex>> {
        self.context.as_ref()
    }

    /// Every finding in `text`, all detectors on, sorted by position.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.report(text.as_bytes(), Scope::ALL).findings
    }

    /// [`scan`](Self::scan) for raw bytes (binary sniffing included).
    pub fn scan_bytes(&self, data: &[u8]) -> Vec<Finding> {
        self.report(data, Scope::ALL).findings
    }

    /// Secret detectors only: no context echo, no binary sniffing. For text
    /// that may legitimately carry the context (prompts of sub-calls) but
    /// must never carry a secret.
    pub fn scan_secrets(&self, text: &str) -> Vec<Finding> {
        self.report(text.as_bytes(), Scope::SECRETS).findings
    }

    /// Filters one output: redacts or blocks per the mode, then caps it.
    pub fn apply(&self, text: &str) -> Result<Filtered, Blocked> {
        let report = self.report(text.as_bytes(), Scope::ALL);
        let released = report.released();
        self.act(text.as_bytes(), Some(text), report.findings, released)
    }

    /// [`apply`](Self::apply) for raw bytes; invalid UTF-8 in the output is
    /// replaced by U+FFFD after redaction (spans stay those of the input).
    pub fn apply_bytes(&self, data: &[u8]) -> Result<Filtered, Blocked> {
        let report = self.report(data, Scope::ALL);
        let released = report.released();
        self.act(data, None, report.findings, released)
    }

    /// Secret detectors only, with the configured action and cap (see
    /// [`scan_secrets`](Self::scan_secrets)).
    pub fn apply_secrets(&self, text: &str) -> Result<Filtered, Blocked> {
        let report = self.report(text.as_bytes(), Scope::SECRETS);
        self.act(text.as_bytes(), Some(text), report.findings, 0)
    }

    /// [`apply`](Self::apply), charging released context bytes to `budget`.
    /// Once the budget cannot cover a quote, that quote and every later one
    /// in the output is treated as a finding (rule `disclosure-budget`):
    /// redacted, or the output blocked. Nothing is charged for a blocked
    /// output.
    pub fn apply_with_budget(
        &self,
        text: &str,
        budget: &DisclosureBudget,
    ) -> Result<Filtered, Blocked> {
        self.apply_bytes_with_budget(text.as_bytes(), budget)
    }

    /// [`apply_with_budget`](Self::apply_with_budget) for raw bytes.
    pub fn apply_bytes_with_budget(
        &self,
        data: &[u8],
        budget: &DisclosureBudget,
    ) -> Result<Filtered, Blocked> {
        let mut report = self.report(data, Scope::ALL);
        let mut remaining = budget.remaining();
        let mut admitted: u64 = 0;
        let mut over = false;
        for (span, bytes) in &report.quotes {
            let b = *bytes as u64;
            if !over && b <= remaining {
                remaining -= b;
                admitted += b;
            } else {
                over = true;
                report.findings.push(Finding::new(
                    "context-echo",
                    "disclosure-budget",
                    span.clone(),
                    Confidence::High,
                ));
            }
        }
        if over {
            tracing::info!(
                released = budget.released(),
                cap = budget.cap(),
                "disclosure budget exhausted; further context quotes are withheld"
            );
            sort_findings(&mut report.findings);
        }
        let filtered = self.act(data, None, report.findings, admitted as usize)?;
        // Another output of the session may have spent concurrently; record
        // anyway (the estimate was checked against what was left).
        if !budget.try_spend(admitted) {
            budget.record(admitted);
        }
        Ok(filtered)
    }

    /// A streaming filter over chunked input with bounded memory.
    pub fn stream(&self) -> StreamFilter<'_> {
        StreamFilter::new(self)
    }

    /// Redacts or blocks, then caps. `text` is `data` when the caller
    /// already holds it as a `str`: the redacted text is then assembled
    /// from `str` pieces without validating all of it again.
    fn act(
        &self,
        data: &[u8],
        text: Option<&str>,
        findings: Vec<Finding>,
        released: usize,
    ) -> Result<Filtered, Blocked> {
        if !findings.is_empty() {
            tracing::debug!(
                count = findings.len(),
                detectors = ?findings.iter().map(|f| f.detector).collect::<Vec<_>>(),
                "egress findings"
            );
        }
        if self.mode == Mode::Block && !findings.is_empty() {
            return Err(Blocked { findings });
        }
        let whole = text.and_then(|t| redact::redact_str(t, &findings));
        let fits = |len: usize| self.max_output_bytes.is_none_or(|cap| len <= cap);
        let (output, truncated) = match whole {
            Some(s) if fits(s.len()) => (s, false),
            other => {
                let mut out = match other {
                    Some(s) => s.into_bytes(),
                    None => redact::redact(data, &findings),
                };
                let truncated = match self.max_output_bytes {
                    Some(cap) => redact::truncate_head_tail(&mut out, cap),
                    None => false,
                };
                let output = match String::from_utf8(out) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                (output, truncated)
            }
        };
        Ok(Filtered {
            output,
            findings,
            truncated,
            context_bytes_released: released,
        })
    }

    /// Runs the detectors in `scope` over `data`.
    pub(crate) fn report(&self, data: &[u8], scope: Scope) -> Report {
        let mut rep = Report::default();
        let classes = classify(data);
        if scope.binary {
            if let Some(kind) = binary::detect_counted(data, classes.nuls, classes.controls) {
                rep.findings.push(Finding::new(
                    "binary-output",
                    kind,
                    0..data.len(),
                    Confidence::High,
                ));
                return rep;
            }
        }
        self.scan_classified(data, &classes, 0, scope, &mut rep);
        finish_findings(data, &mut rep.findings);
        rep
    }

    fn scan_into(&self, text: &[u8], depth: usize, scope: Scope, rep: &mut Report) {
        let classes = classify(text);
        self.scan_classified(text, &classes, depth, scope, rep);
    }

    fn scan_classified(
        &self,
        text: &[u8],
        classes: &Classes,
        depth: usize,
        scope: Scope,
        rep: &mut Report,
    ) {
        // About one run per 250 bytes of logs and JSON; growing the vector
        // from nothing would copy it a dozen times.
        let mut runs: Vec<Run> = Vec::with_capacity(text.len() / 256);
        encoded::runs_in(text, &classes.tok, encoded::MIN_ENCODED, &mut runs);
        let before = rep.findings.len();
        self.rules.scan(text, &runs, classes, &mut rep.findings);
        // Runs inside what a provider rule already cuts whole (private-key
        // blocks, tokens, JWTs) can add nothing the redaction would show:
        // a weaker finding inside a stronger one is dropped anyway.
        let cover = redact::union(
            rep.findings[before..]
                .iter()
                .filter(|f| f.confidence == Confidence::High)
                .map(|f| f.span.clone())
                .collect(),
        );
        self.scan_runs(text, &runs, &cover, depth, scope, rep);
        let mut percent_spans = Vec::new();
        if depth < self.max_depth && classes.rare.iter().any(|&p| text[p] == b'%') {
            let mut pr = Vec::new();
            let percents = classes.rare.iter().copied().filter(|&p| text[p] == b'%');
            encoded::percent_runs(text, percents, &mut pr);
            for run in pr {
                // Cut whole when anything is found, like a blob: cutting only
                // the bytes a finding decodes from would change what the
                // rest of the run borders on, and a second pass could read
                // it differently (the fuzz target found such a case).
                self.rescan_decoded(
                    &run.decoded,
                    run.span.clone(),
                    Encoding::Percent,
                    depth,
                    scope,
                    rep,
                );
                percent_spans.push(run.span);
            }
        }
        if scope.context {
            if let Some(ctx) = &self.context {
                let mut echoes = Vec::new();
                ctx.find_runs(text, 0, &mut echoes);
                for EchoRun { span } in echoes {
                    if span.len() > ctx.max_echo() {
                        rep.findings.push(Finding::new(
                            "context-echo",
                            "verbatim",
                            span,
                            Confidence::High,
                        ));
                    } else {
                        let est = ctx.estimate_released(span.len());
                        rep.quotes.push((span, est));
                    }
                }
            }
        }
        self.scan_visible_pieces(text, &runs, &percent_spans, before, depth, scope, rep);
    }

    /// Runs that findings cut only in part were judged whole, but what
    /// leaves is their pieces between the markers, which a second pass
    /// over the redacted text would judge alone (`ID3B...B268-----BEGIN`
    /// passes whole; `ID3B...B268` before a private-key marker does not).
    /// Those pieces are judged here, so that redaction is idempotent.
    /// Likewise the pieces of percent-encoded runs (`percent_spans`), each
    /// decoded alone: a marker's brackets end such a run too.
    #[allow(clippy::too_many_arguments)]
    fn scan_visible_pieces(
        &self,
        text: &[u8],
        runs: &[Run],
        percent_spans: &[Range<usize>],
        before: usize,
        depth: usize,
        scope: Scope,
        rep: &mut Report,
    ) {
        if rep.findings.len() == before {
            return;
        }
        let cut_of =
            |findings: &[Finding]| redact::union(findings.iter().map(|f| f.span.clone()).collect());
        let mut cut = cut_of(&rep.findings[before..]);
        // A piece's own findings may leave smaller pieces, which a second
        // pass would judge alone in turn (`csk-000..._nQvW...` passes whole;
        // cut the key, and `_nQvW...` does not): repeat until a round finds
        // nothing. Pieces only shrink, so this ends; the bound is a guard.
        let mut judged: HashSet<Range<usize>> = HashSet::new();
        for _ in 0..MAX_PIECE_ROUNDS {
            let mut pieces = Vec::new();
            let mut ci = 0;
            let prefetch = Prefetch::new();
            for (idx, run) in runs.iter().enumerate() {
                // Only the spans are read here: the runs, not their text.
                prefetch.run_itself_ahead(runs, idx);
                while ci < cut.len() && cut[ci].end <= run.span.start {
                    ci += 1;
                }
                let n = cut[ci..]
                    .iter()
                    .take_while(|c| c.start < run.span.end)
                    .count();
                let touching = &cut[ci..ci + n];
                let whole = |c: &Range<usize>| c.start <= run.span.start && c.end >= run.span.end;
                if touching.is_empty() || touching.iter().any(whole) {
                    continue;
                }
                encoded::pieces_outside(text, run, touching, &mut pieces);
            }
            pieces.retain(|p| judged.insert(p.span.clone()));
            if pieces.is_empty() {
                break;
            }
            let found = rep.findings.len();
            self.scan_runs(text, &pieces, &[], depth, scope, rep);
            self.scan_pieces_alone(text, &pieces, rep);
            if rep.findings.len() == found {
                break;
            }
            cut = cut_of(&rep.findings[before..]);
        }
        for span in percent_spans {
            let mut pieces = Vec::new();
            encoded::gaps(span.clone(), &cut, |r| pieces.push(r));
            if pieces.first() == Some(span) {
                continue; // no finding touches it
            }
            for piece in pieces {
                if let Some(decoded) = encoded::decode_percent(&text[piece.clone()]) {
                    // What a piece hides is cut whole: nothing of it is
                    // left for a later pass to decode differently. Its
                    // quotes were charged with the whole run.
                    let mut found = Report::default();
                    self.rescan_decoded(
                        &decoded,
                        piece,
                        Encoding::Percent,
                        depth,
                        scope,
                        &mut found,
                    );
                    rep.findings.append(&mut found.findings);
                }
            }
        }
    }

    /// The rules on each piece of a run as a text of its own, which is how
    /// a second pass reads it: between markers. A prefix rule that wants
    /// no token byte before its keyword (`csk-`, `r8_`) matches there
    /// although it did not inside the whole run (the fuzz target found
    /// `...0000csk-...` left behind a GitLab token's marker).
    fn scan_pieces_alone(&self, text: &[u8], pieces: &[Run], rep: &mut Report) {
        let mut found = Vec::new();
        let mut runs = Vec::new();
        for piece in pieces {
            let at = piece.span.start;
            let alone = &text[piece.span.clone()];
            let classes = classify(alone);
            runs.clear();
            encoded::runs_in(alone, &classes.tok, encoded::MIN_ENCODED, &mut runs);
            self.rules.scan(alone, &runs, &classes, &mut found);
            rep.findings.extend(found.drain(..).map(|mut f| {
                f.span = f.span.start + at..f.span.end + at;
                f
            }));
        }
    }

    /// Token runs: provider shapes without keywords, decoding, entropy.
    fn scan_runs(
        &self,
        text: &[u8],
        runs: &[Run],
        cover: &[Range<usize>],
        depth: usize,
        scope: Scope,
        rep: &mut Report,
    ) {
        // One decode buffer for every run of this text (nested levels have
        // their own).
        let mut decoded: Vec<u8> = Vec::new();
        // Runs and cover spans are both in text order: one cursor.
        let mut ci = 0;
        let prefetch = Prefetch::new();
        for (idx, run) in runs.iter().enumerate() {
            prefetch.run_ahead(text, runs, idx);
            while ci < cover.len() && cover[ci].end < run.span.end {
                ci += 1;
            }
            let covered = cover
                .get(ci)
                .is_some_and(|c| c.start <= run.span.start && c.end >= run.span.end);
            if covered {
                continue;
            }
            let whole = &text[run.span.clone()];
            if run.segment_count() == 1 {
                // The commonest runs of all, decided from the scanner's
                // summary: UUIDs pass (plain lower-case ones are not even
                // runs); hex digests pass unless they decode to text (the
                // judge passes hex of digest lengths).
                let f = run.flags;
                if whole.len() == 36 && f & (NONHEX | STDSYM) == 0 && crate::entropy::is_uuid(whole)
                {
                    continue;
                }
                if run.all_hex && run.pad == 0 && crate::entropy::hex_passes_judge(whole.len()) {
                    if depth < self.max_depth
                        && whole.len() >= 2 * encoded::MIN_ENCODED
                        && !encoded::surely_not_texty(text, run)
                    {
                        decoded.clear();
                        if encoded::decode_run(text, run, &mut decoded).is_some()
                            && encoded::is_texty(&decoded)
                        {
                            self.rescan_decoded(
                                &decoded,
                                run.span.clone(),
                                Encoding::Hex,
                                depth,
                                scope,
                                rep,
                            );
                        }
                    }
                    continue;
                }
                if let Some(rule) = keywordless_shape(whole) {
                    rep.findings.push(Finding::new(
                        rule.0,
                        rule.1,
                        run.span.clone(),
                        Confidence::High,
                    ));
                    continue;
                }
            }
            // UUIDs decode to binary; skip the allocation. (Hex digests are
            // still decoded: hex of a 20- or 32-byte secret has their length.)
            let harmless_hex = run.segment_count() == 1 && crate::entropy::is_uuid(whole);
            if depth < self.max_depth && !harmless_hex {
                let enc = if encoded::surely_not_texty(text, run) {
                    None
                } else {
                    encoded::decode_run(text, run, &mut decoded)
                };
                if let Some(enc) = enc {
                    if encoded::is_texty(&decoded) {
                        // Text in disguise: judge what it says, not its shape.
                        self.rescan_decoded(&decoded, run.span.clone(), enc, depth, scope, rep);
                        continue;
                    }
                }
                if run.segment_count() > 1 {
                    // Not one encoded whole: judge each line on its own, so
                    // a line of encoded text cannot hide a key line beside it.
                    let singles = encoded::split(text, run);
                    self.scan_runs(text, &singles, cover, depth, scope, rep);
                    continue;
                }
            }
            for seg in run.segments(text) {
                let tok = &text[seg.clone()];
                if tok.len() < MIN_B64_TOKEN || tok.len() > MAX_TOKEN {
                    continue;
                }
                if self.entropy.judge(tok) == Verdict::Suspicious {
                    rep.findings.push(Finding::new(
                        "high-entropy",
                        "random-token",
                        seg.clone(),
                        Confidence::Low,
                    ));
                }
            }
        }
    }

    fn rescan_decoded(
        &self,
        decoded: &[u8],
        span: Range<usize>,
        enc: Encoding,
        depth: usize,
        scope: Scope,
        rep: &mut Report,
    ) {
        let mut inner = Report::default();
        // The decoded text's context probes, asked for before its other
        // detectors run, arrive while they do.
        if scope.context {
            if let Some(ctx) = &self.context {
                ctx.prefetch_probes(decoded);
            }
        }
        self.scan_into(decoded, depth + 1, scope, &mut inner);
        if let Some(f) = lead_finding(&inner.findings, span.clone(), enc) {
            rep.findings.push(f);
        } else if !inner.quotes.is_empty() {
            // Quotes inside an encoded run: the run is what would be cut.
            let est = inner.released();
            rep.quotes.push((span, est));
        }
    }
}

/// A finding over a whole encoded `span` named after the strongest (then
/// longest) of the `inner` findings in its decoding, if any.
fn lead_finding(inner: &[Finding], span: Range<usize>, enc: Encoding) -> Option<Finding> {
    let lead = inner.iter().max_by_key(|f| (f.confidence, f.len()))?;
    Some(Finding {
        detector: lead.detector,
        rule: lead.rule,
        span,
        confidence: lead.confidence,
        encoding: Some(enc),
    })
}

/// Provider formats with no keyword to anchor on, recognised from the token
/// alone: Twilio API key SIDs (`SK` + 32 hex).
fn keywordless_shape(tok: &[u8]) -> Option<(&'static str, &'static str)> {
    if tok.len() == 34 && tok.starts_with(b"SK") && tok[2..].iter().all(u8::is_ascii_hexdigit) {
        return Some(("twilio-key", "twilio-api-key-sid"));
    }
    None
}

/// Sorts, drops findings that only cover redaction markers (so rescanning a
/// redacted output finds nothing), and drops low-confidence findings inside
/// stronger ones.
fn finish_findings(text: &[u8], findings: &mut Vec<Finding>) {
    findings.retain(|f| {
        f.span.end <= text.len() && !f.span.is_empty() && !only_markers(&text[f.span.clone()])
    });
    sort_findings(findings);
    findings.dedup_by(|b, a| a.span == b.span && a.detector == b.detector);
    let mut keep = Vec::with_capacity(findings.len());
    let mut cover_end = 0usize;
    let mut cover_conf = Confidence::Low;
    for f in findings.drain(..) {
        let inside = f.span.end <= cover_end;
        if inside && f.confidence < cover_conf {
            continue;
        }
        if f.span.end > cover_end {
            cover_end = f.span.end;
            cover_conf = f.confidence;
        }
        keep.push(f);
    }
    *findings = keep;
}

/// Whether `s` is one or more `[REDACTED:...]` markers and nothing else
/// but the quotes and blanks around them: a rule whose value may be quoted
/// must not find, on a second pass, a quoted marker where it found
/// nothing on the first.
fn only_markers(s: &[u8]) -> bool {
    let frame = |b: &u8| matches!(b, b'"' | b'\'' | b'`' | b' ' | b'\t');
    let mut rest = s;
    let mut markers = 0;
    loop {
        let skip = rest.iter().take_while(|b| frame(b)).count();
        rest = &rest[skip..];
        if rest.is_empty() {
            return markers > 0;
        }
        let Some(after) = rest.strip_prefix(b"[REDACTED:") else {
            return false;
        };
        let Some(close) = memchr::memchr(b']', after) else {
            return false;
        };
        if !after[..close]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        {
            return false;
        }
        rest = &after[close + 1..];
        markers += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter of the fuzz target (`fuzz/fuzz_targets/filter.rs`).
    fn fuzz_filter() -> EgressFilter {
        EgressFilter::builder()
            .max_output_bytes(Some(4096))
            .protected_context(
                "The protected document: quarterly revenue grew in every region except the north, \
                 where the new warehouse opened late and costs rose by 4.2 percent."
                    .repeat(8),
            )
            .max_context_echo(32)
            .build()
            .expect("filter builds")
    }

    /// Redacting the redacted output changes nothing (the fuzz target's
    /// assertion).
    fn assert_idempotent(input: &str) {
        let f = fuzz_filter();
        let once = f.apply(input).expect("redact mode");
        let twice = f.apply(&once.output).expect("redact mode");
        assert_eq!(twice.output, once.output, "input {input:?}");
        assert!(twice.findings.is_empty(), "{:?}", twice.findings);
    }

    /// `input` leaves without `needle`, and redacting it again changes
    /// nothing.
    fn assert_cut(input: &str, needle: &str) {
        let out = fuzz_filter().apply(input).expect("redact mode");
        assert!(!out.output.contains(needle), "{}", out.output);
        assert_idempotent(input);
    }

    #[test]
    fn key_line_inside_wrapped_encoded_text_is_caught() {
        // Found by the property test in CI: a random key line planted in the
        // middle of a base64 payload of prose. The lines do not decode as one
        // whole, and the prose line must not vouch for the key line.
        let key = "v0Psbqh8DmJ27vZrVGksXNqMp7AQWyPlwp3DDhfpqOo343tJhaxW3xUFBYWP7wd7";
        let head = "encoded payload: U2F1Y2UgdXNlcnMgYmVmb3JlIGFjY3VyYWN5IGludG8gZXZlcnkgY29uZmlnIGVh\
                    Y2ggcmVxdWVzdCBlYWNoIHNhbXBsZSBzZXJ2ZXIgY2FjaGUgbWVkaWFuIG5ld3Mgbm9ydGggc28gdGhlIHNl\
                    Y3JldCBtYW5hZ2VyIHdhcyB1cGRhdGVkLiBNZWRpYW4gYmVmb3JlIHJldmVudWUgY2FjaGUgdGhhdCB0b2tl\
                    biBhZnRlciBzYW1wbGUgZGVmYXVsdCBkZWZhdWx0IHdhcm5p";
        let tail = "bmcgYmVhcmVyLiBNZWRpYW4gdGhlIG1vZGVsIHNhbXBsZSByZXNldCB1c2VycyByZWdpb24u";
        let text = format!("{head}\n{key}\n{tail}\n");
        let out = fuzz_filter().apply(&text).expect("redact mode");
        assert!(!out.output.contains(key), "{:?}", out.findings);
    }

    #[test]
    fn quoted_markers_are_only_markers() {
        for yes in [
            &b"[REDACTED:npm-token]"[..],
            b"`[REDACTED:secret-assignment]`",
            b"\" [REDACTED:a][REDACTED:b-2] '",
        ] {
            assert!(only_markers(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b""[..],
            b"``",
            b"x[REDACTED:a]",
            b"[REDACTED:a]\"x",
            b"[REDACTED:A]",
            b"[REDACTED:a",
        ] {
            assert!(!only_markers(no), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn fuzz_backquoted_npmrc_value() {
        // Found by the fuzz target: the assignment rule cut the backquoted
        // value (a tab stopped the npmrc rule), and the npmrc rule then read
        // the backquote and the marker as its token.
        assert_idempotent("_authToken=`t6\thTu`");
        assert_cut(
            "_authToken=`npm_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5`",
            "aB3dE5fG7hI9",
        );
    }

    #[test]
    fn fuzz_run_cut_in_part_by_a_finding() {
        // Found by the fuzz target: the token run `ID3B...B268-----BEGIN`
        // passed the entropy judge whole; after the private-key block was
        // cut, its head stood alone and a second pass flagged it.
        assert_cut("ID3BRROW1fI8BMrbB268-----BEGINPRIVATE KEY-----", "BRROW1f");
    }

    #[test]
    fn one_percent_escape_is_decoded() {
        // Found by a larger corpus: `%5F` hid the `_` of an npm token.
        assert_cut(
            "percent blob: npm%5FrPp25gp5PxAVdTHlJpJA3CFKXPTOQrpTHzaA\n",
            "rPp25gp5Px",
        );
    }

    #[test]
    fn a_long_line_of_assignments_is_read_once() {
        // Every site of such a line has a value running to the line's end.
        // Reading each was quadratic (2 MB took four minutes): now a site
        // inside a value found is skipped, and a value starting inside the
        // last run read ends where it did. The whole line is one value.
        let filter = EgressFilter::builder()
            .max_output_bytes(None)
            .build()
            .expect("filter builds");
        for (unit, kept) in [
            ("password=v0Xk2mQ9&", "password="),
            ("Authorization=Bearer", "Authorization="),
        ] {
            let line = unit.repeat(40_000 / unit.len());
            let out = filter.apply(&line).expect("redact mode");
            assert_eq!(out.findings.len(), 1, "{unit}");
            assert!(out.output.starts_with(kept), "{unit}: {}", out.output);
            assert!(out.output.len() < 64, "{unit}: {}", out.output);
        }
    }

    #[test]
    fn fuzz_percent_run_cut_in_part_by_its_own_finding() {
        // Found by the fuzz target while a finding in a percent run cut only
        // what it decoded from: the rest of the run (`.bb2Q~...`) then began
        // after a marker instead of a token byte, and a second pass read an
        // Azure client secret there. Such runs are cut whole again.
        assert_idempotent(
            "GLOLLLLLL//%$%authorization=\t\tcccccccccccc----bbbbbbbbLPbbccc-+&aaaAuthorization: \
             Bearer aaaaaaaaaaaaaaaaaddddPAR1//%30aaaaaaaaaaaaaap6ac-bbbbbbbLPbbcccc-----------14.\
             bb2Q~bbbbbbbbbbbb---bbbbbbbbbbbbbbbb=----VV-",
        );
    }

    #[test]
    fn fuzz_prefix_in_a_piece_of_a_run() {
        // Found by the fuzz target: inside the whole run a `0` stood before
        // `csk-`, so the Cerebras rule (no token byte before its prefix) did
        // not match; once the GitLab token before it was cut, a second pass
        // read the key right after the marker.
        assert_cut(
            "{x0000GR13489410000000000000000000000000000000000000000csk-\
             000000000000000000000000000000000000000000oAysxpxCpoxxoCxoxp",
            "csk-",
        );
    }

    #[test]
    fn piece_left_by_a_piece_finding_is_judged_too() {
        // The Cerebras key cut from the piece the GitLab token leaves
        // leaves a random tail, which a second pass judges alone.
        assert_cut(
            "{x0000GR13489410000000000000000000000000000000000000000csk-\
             000000000000000000000000000000000000000000_nQvWys81vp7hB1dx8PpD5KHXe3PYiGkPAuNaRL63",
            "nQvWys81vp7hB1dx8PpD5KHXe3PYiGkPAuNaRL63",
        );
    }

    #[test]
    fn fuzz_bearer_token_ending_in_bearer() {
        // Found by the fuzz target: the plain token `glsooshps-Bearer` was
        // rejected, and the search went on past its `Bearer`, whose token
        // a second pass (the first one cut away) then found.
        assert_cut(
            "?token=++++oshps-Bearer glsooshps-Bearer glsoshpca_GShaat-/Beashpca_at-/vlpBeareewdB3=e+",
            "glsoshpca_",
        );
    }

    #[test]
    fn fuzz_tokens_sharing_a_boundary_byte() {
        // Found by the fuzz target: the first token's rule took the `[`
        // after it as its trailing boundary, so the search for the next one
        // began past the `[` that this one needs before it.
        assert_cut(
            "%\u{10}\u{10}RRRRRRRR[api_org_RRRRRRRRRRRRRRRZRRRRRRRRRRRRRRRRRRR\
             [api_org_RRRRRRRRRRRRRRRZRRRRRRRRRRRRRRRRRRRapi-key>",
            "api_org_",
        );
    }

    #[test]
    fn fuzz_piece_of_a_percent_run() {
        // Found by the fuzz target: decoded whole, the run passed; once the
        // token before `%61` was cut, its tail decoded alone (`aIFB...`)
        // and a second pass flagged it.
        assert_cut("1swtROW1fGIF8IF8B2M8%61IFB2MRROW1fIF8B2M56%", "IFB2MRROW1f");
    }

    #[test]
    fn fuzz_overlapping_url_passwords() {
        assert_cut(
            ",2rb://)QQQQQQ+:VVQQVV+VVVQQV@V://)QQQQQQ+:VVQQVV+VVVQQV@VV",
            "VVQQVV+VVVQQV",
        );
    }
}

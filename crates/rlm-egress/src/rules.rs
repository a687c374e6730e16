//! Provider-specific and keyword-anchored secret rules.
//!
//! Every rule names the keywords that must occur near a match. One
//! Aho-Corasick pass over the text finds all keyword hits; only then does a
//! rule's regex run, and only over a window around its own hits. On typical
//! output most rules never run at all, and none runs over the whole text, so
//! the cost is one automaton pass plus work proportional to the hits.
//!
//! The formats are written from the providers' documented token shapes
//! (prefixes, lengths, alphabets), not copied from any other scanner's rules.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Captures, Regex};

use crate::encoded::Run;
use crate::finding::{Confidence, Finding};

/// How the secret span is taken from a regex match.
#[derive(Clone, Copy)]
enum Extract {
    /// The whole match.
    Whole,
    /// One capture group.
    Group(usize),
    /// `key = value` assignments: custom plausibility checks on the value.
    Assignment,
    /// `Bearer <token>`: the token must look like a credential.
    Bearer,
    /// `scheme://user:password@host`: group 1 when a host byte follows the
    /// match (the regex stops at `@`).
    UrlPassword,
}

/// One rule as written in the table below.
struct RuleDef {
    detector: &'static str,
    name: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    extract: Extract,
    confidence: Confidence,
    /// Bytes before a keyword hit where a match may start.
    back: usize,
    /// Bytes after a keyword hit where a match may end.
    fwd: usize,
}

const H: Confidence = Confidence::High;
const M: Confidence = Confidence::Medium;

/// Assignment keys: the identifier must END with one of the keywords, so
/// that `tokenizer = ...` or `max_tokens = 512` do not count.
macro_rules! assignment_pattern {
    () => {
        // 1: end of the key, 2: double-quoted value, 3: single-quoted value,
        // 4: backquoted value, 5: bare value. The key's identifier prefix
        // (`DB_` in `DB_PASSWORD`) is taken in `extract`, not matched: a
        // counted prefix class in front of the alternation makes the lazy
        // DFA build thousands of states and run at ~60 instructions a byte.
        concat!(
            r#"(?i)("#,
            r"(?:passw(?:or)?d|passwort|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|secret[_\-]?key|signing[_\-]?key|encryption[_\-]?key|auth[_\-]?key|client[_\-]?secret|credentials?|auth)",
            r#")["']?\s{0,4}(?:=|:=|:|=>|->)\s{0,4}(?:"([^"\r\n]{1,})"|'([^'\r\n]{1,})'|`([^`\r\n]{1,})`|([^\s"'`,;()\[\]{}<>]{1,}))"#
        )
    };
}

/// Longest identifier prefix of an assignment key (`[A-Za-z0-9_.-]{0,48}`).
const MAX_KEY_PREFIX: usize = 48;

#[rustfmt::skip]
const RULES: &[RuleDef] = &[
    // --- private keys: the whole block, header to footer, also JSON-escaped.
    RuleDef { detector: "private-key", name: "pem-private-key", keywords: &["PRIVATE KEY"],
        pattern: r"-----BEGIN[A-Z0-9 ]{0,32}PRIVATE KEY(?: BLOCK)?-----(?:\\+[nr/]|[A-Za-z0-9+/=\s:,.]|-[A-Za-z0-9])*(?:-----END[A-Z0-9 ]{0,32}PRIVATE KEY(?: BLOCK)?-----)?",
        extract: Extract::Whole, confidence: H, back: 48, fwd: 24 * 1024 },
    // --- cloud
    RuleDef { detector: "aws-access-key", name: "aws-access-key-id",
        keywords: &["AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA"],
        pattern: r"(?:^|[^A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16})(?:[^A-Za-z0-9]|$)",
        extract: Extract::Group(1), confidence: H, back: 1, fwd: 24 },
    RuleDef { detector: "aws-secret-key", name: "aws-secret-access-key", keywords: &["aws"],
        pattern: r#"(?i)aws[A-Za-z0-9_.\- ]{0,32}?(?:secret|sk)[A-Za-z0-9_.\-]{0,24}["']?\s{0,4}(?:=|:|=>)\s{0,4}["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 160 },
    RuleDef { detector: "gcp-service-account", name: "gcp-private-key-id", keywords: &["private_key_id"],
        pattern: r#"private_key_id\\?"\s*:\s*\\?"([a-f0-9]{40})"#,
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 80 },
    RuleDef { detector: "google-api-key", name: "google-api-key", keywords: &["AIza"],
        pattern: r"AIza[0-9A-Za-z_\-]{35}", extract: Extract::Whole, confidence: H, back: 0, fwd: 48 },
    RuleDef { detector: "google-oauth", name: "google-oauth-client-secret", keywords: &["GOCSPX-"],
        pattern: r"GOCSPX-[A-Za-z0-9_\-]{20,40}", extract: Extract::Whole, confidence: H, back: 0, fwd: 48 },
    RuleDef { detector: "google-oauth", name: "google-oauth-access-token", keywords: &["ya29."],
        pattern: r"ya29\.[0-9A-Za-z_\-]{20,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 2100 },
    RuleDef { detector: "google-oauth", name: "google-oauth-refresh-token", keywords: &["1//0"],
        pattern: r"1//0[0-9A-Za-z_\-]{40,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 520 },
    RuleDef { detector: "azure-storage-key", name: "azure-connection-string-key", keywords: &["AccountKey", "SharedAccessKey"],
        pattern: r"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{20,}={0,2})",
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 160 },
    RuleDef { detector: "azure-storage-key", name: "azure-storage-key-assignment", keywords: &["azure"],
        pattern: r#"(?i)azure[A-Za-z0-9_.\- ]{0,40}?(?:key|secret)[A-Za-z0-9_.\-]{0,16}["']?\s{0,4}(?:=|:)\s{0,4}["']?([A-Za-z0-9+/]{86}==)"#,
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 200 },
    RuleDef { detector: "azure-sas", name: "azure-sas-signature", keywords: &["sig="],
        pattern: r"[?&;]sig=([A-Za-z0-9%+/=]{20,})", extract: Extract::Group(1), confidence: H, back: 1, fwd: 220 },
    RuleDef { detector: "azure-client-secret", name: "azure-ad-client-secret", keywords: &["0Q~", "1Q~", "2Q~", "3Q~", "4Q~", "5Q~", "6Q~", "7Q~", "8Q~", "9Q~"],
        pattern: r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
        extract: Extract::Group(1), confidence: H, back: 6, fwd: 40 },
    // --- code hosting
    RuleDef { detector: "github-token", name: "github-classic-pat", keywords: &["ghp_"],
        pattern: r"ghp_[A-Za-z0-9]{36,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "github-token", name: "github-oauth-token", keywords: &["gho_"],
        pattern: r"gho_[A-Za-z0-9]{36,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "github-token", name: "github-app-token", keywords: &["ghu_", "ghs_", "ghr_"],
        pattern: r"gh[usr]_[A-Za-z0-9]{36,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "github-token", name: "github-fine-grained-pat", keywords: &["github_pat_"],
        pattern: r"github_pat_[A-Za-z0-9_]{60,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "gitlab-token", name: "gitlab-token",
        keywords: &["glpat-", "gldt-", "glrt-", "glcbt-", "glimt-", "gloas-", "glsoat-", "glffct-", "glagent-", "glptt-", "glft-"],
        pattern: r"(?:glpat|gldt|glrt|glcbt|glimt|gloas|glsoat|glffct|glagent|glptt|glft)-[A-Za-z0-9_\-]{20,80}",
        extract: Extract::Whole, confidence: H, back: 0, fwd: 96 },
    RuleDef { detector: "gitlab-token", name: "gitlab-runner-registration", keywords: &["GR1348941"],
        pattern: r"GR1348941[A-Za-z0-9_\-]{20,40}", extract: Extract::Whole, confidence: H, back: 0, fwd: 56 },
    // --- chat
    RuleDef { detector: "slack-token", name: "slack-token", keywords: &["xox"],
        pattern: r"xox[abposre](?:\.xox[abposre])?-[0-9A-Za-z\-]{10,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "slack-token", name: "slack-app-token", keywords: &["xapp-"],
        pattern: r"xapp-[0-9]-[0-9A-Za-z\-]{10,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "slack-webhook", name: "slack-webhook", keywords: &["hooks.slack.com"],
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 220 },
    RuleDef { detector: "discord-webhook", name: "discord-webhook", keywords: &["/api/webhooks/"],
        pattern: r"discord(?:app)?\.com/api/webhooks/[0-9]{5,30}/[A-Za-z0-9_\-]{40,}", extract: Extract::Whole, confidence: H, back: 40, fwd: 160 },
    RuleDef { detector: "discord-token", name: "discord-bot-token", keywords: &["discord", "bot "],
        pattern: r"(?:^|[^A-Za-z0-9_\-])([MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})(?:[^A-Za-z0-9_\-]|$)",
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 200 },
    RuleDef { detector: "telegram-token", name: "telegram-bot-token", keywords: &[":AA", "telegram", "/bot"],
        pattern: r"(?:^|[^0-9])([0-9]{8,10}:[A-Za-z0-9_\-]{35})(?:[^A-Za-z0-9_\-]|$)",
        extract: Extract::Group(1), confidence: H, back: 12, fwd: 200 },
    // --- payments
    RuleDef { detector: "stripe-key", name: "stripe-secret-key", keywords: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        pattern: r"[sr]k_(?:live|test)_[A-Za-z0-9]{20,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 260 },
    RuleDef { detector: "stripe-key", name: "stripe-webhook-secret", keywords: &["whsec_"],
        pattern: r"whsec_[A-Za-z0-9+/=]{24,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 110 },
    // --- AI APIs
    RuleDef { detector: "anthropic-key", name: "anthropic-api-key", keywords: &["sk-ant-"],
        pattern: r"sk-ant-[a-z]{2,10}[0-9]{0,3}-[A-Za-z0-9_\-]{32,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 220 },
    RuleDef { detector: "openai-key", name: "openai-api-key", keywords: &["sk-"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48}))(?:[^A-Za-z0-9_\-]|$)",
        extract: Extract::Group(1), confidence: H, back: 1, fwd: 270 },
    RuleDef { detector: "huggingface-token", name: "huggingface-token", keywords: &["hf_", "api_org_"],
        pattern: r"(?:^|[^A-Za-z0-9])((?:hf|api_org)_[A-Za-z0-9]{30,40})(?:[^A-Za-z0-9]|$)",
        extract: Extract::Group(1), confidence: H, back: 1, fwd: 56 },
    // --- package registries
    RuleDef { detector: "npm-token", name: "npm-access-token", keywords: &["npm_"],
        pattern: r"(?:^|[^A-Za-z0-9])(npm_[A-Za-z0-9]{36})(?:[^A-Za-z0-9]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 48 },
    RuleDef { detector: "npm-token", name: "npmrc-auth-token", keywords: &["_authToken"],
        pattern: r#"_authToken\s*=\s*["']?([^\s"'$][^\s"']{7,})"#, extract: Extract::Group(1), confidence: H, back: 0, fwd: 300 },
    RuleDef { detector: "pypi-token", name: "pypi-upload-token", keywords: &["pypi-Ag"],
        pattern: r"pypi-Ag[A-Za-z0-9_\-]{50,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 600 },
    // --- mail / SMS
    RuleDef { detector: "sendgrid-key", name: "sendgrid-api-key", keywords: &["SG."],
        pattern: r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,50}", extract: Extract::Whole, confidence: H, back: 0, fwd: 96 },
    RuleDef { detector: "twilio-key", name: "twilio-auth-token", keywords: &["twilio"],
        pattern: r#"(?i)twilio[A-Za-z0-9_.\- ]{0,32}?(?:auth|token|secret|key)[A-Za-z0-9_.\-]{0,20}["']?\s{0,4}(?:=|:)\s{0,4}["']?([a-f0-9]{32}|SK[0-9a-fA-F]{32})(?:[^A-Za-z0-9]|$)"#,
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 160 },
    RuleDef { detector: "mailgun-key", name: "mailgun-api-key", keywords: &["key-"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(key-[0-9a-f]{32})(?:[^A-Za-z0-9]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 40 },
    RuleDef { detector: "mailgun-key", name: "mailgun-private-key", keywords: &["mailgun"],
        pattern: r"([0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})", extract: Extract::Group(1), confidence: H, back: 0, fwd: 160 },
    // --- tokens with a structure of their own
    RuleDef { detector: "jwt", name: "jwt", keywords: &["eyJ"],
        pattern: r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*", extract: Extract::Whole, confidence: H, back: 0, fwd: 8 * 1024 },
    RuleDef { detector: "connection-url", name: "url-with-password", keywords: &["://"],
        // Userinfo characters per RFC 3986 (unreserved, sub-delims, `%`): no
        // brackets, so a redaction marker never reads as a password.
        // The match ends at `@`; the host byte after it is checked in
        // `extract` and not consumed, because it may be the first byte of
        // the next URL's scheme (`a://u:p@b://v:q@c`): consuming it would
        // hide that URL until the first one is redacted, and a second pass
        // over the redacted output would find something new.
        pattern: r"[A-Za-z][A-Za-z0-9+.\-]{0,20}://[A-Za-z0-9._~%!$&()*+,;=\-]{0,128}:([A-Za-z0-9._~%!$&()*+,;=:\-]{1,})@",
        extract: Extract::UrlPassword, confidence: H, back: 24, fwd: 400 },
    // --- keyword forms
    RuleDef { detector: "auth-header", name: "authorization-header", keywords: &["authorization"],
        pattern: r#"(?i)authorization\\?["']?\s{0,4}[:=]\s{0,4}\\?["']?(?:(?:bearer|basic|token|bot|digest|apikey|sso-key|dsn)\s+)?([A-Za-z0-9\-._~+/=:]{8,})"#,
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 4200 },
    RuleDef { detector: "auth-header", name: "bearer-token", keywords: &["bearer"],
        pattern: r"(?i)bearer\s+([A-Za-z0-9\-._~+/]{16,}=*)", extract: Extract::Bearer, confidence: M, back: 0, fwd: 4200 },
    RuleDef { detector: "secret-assignment", name: "secret-assignment",
        keywords: &["passw", "pwd", "secret", "token", "api_key", "apikey", "api-key", "access_key", "access-key", "private_key", "private-key", "signing", "encryption_key", "auth", "credential", "passphrase"],
        pattern: assignment_pattern!(), extract: Extract::Assignment, confidence: M, back: 56, fwd: 600 },
];

/// The compiled rule set: one keyword automaton and one regex per rule.
pub(crate) struct RuleSet {
    /// Lower-cased keywords, searched in lower-cased text.
    /// Groups of at most [`TEDDY_LIMIT`] keywords, each small enough for
    /// aho-corasick's SIMD (Teddy) prefilter: (automaton, first keyword id).
    automata: Vec<(AhoCorasick, usize)>,
    /// Literal prefixes of [`TOKEN_RULES`], searched case-sensitively in
    /// token runs only.
    token_automaton: AhoCorasick,
    /// For each token automaton pattern, the rules it triggers.
    token_triggers: Vec<Vec<usize>>,
    max_keyword: usize,
    /// Per rule: the necessary condition checked at a keyword hit before
    /// its regex runs, and how far the window really needs to reach.
    checks: Vec<Check>,
    /// For each automaton pattern, the rules it triggers.
    triggers: Vec<Vec<usize>>,
    regexes: Vec<Regex>,
}

/// Errors from compiling the built-in rule table; only a bug can cause them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuleError {
    #[error("built-in rule {rule} does not compile: {source}")]
    Regex {
        rule: &'static str,
        #[source]
        source: regex::Error,
    },
    #[error("keyword automaton does not build: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

impl RuleSet {
    pub(crate) fn new() -> Result<Self, RuleError> {
        // Distinct keywords (case-insensitive), each mapped to every rule that
        // names it or names a keyword contained in it, so that a
        // leftmost-longest pass loses nothing to a longer overlapping keyword
        // (`sk-ant-` must still trigger the `sk-` rule's neighbours).
        let mut keywords: Vec<String> = Vec::new();
        let mut token_keywords: Vec<&'static str> = Vec::new();
        for r in RULES {
            for k in r.keywords {
                if TOKEN_RULES.contains(&r.name) {
                    if !token_keywords.contains(k) {
                        token_keywords.push(k);
                    }
                    continue;
                }
                let k = k.to_ascii_lowercase();
                if !keywords.contains(&k) {
                    keywords.push(k);
                }
            }
        }
        // Same for the prefixes searched in token runs, case-sensitively.
        let token_triggers = token_keywords
            .iter()
            .map(|k| {
                (0..RULES.len())
                    .filter(|&ri| {
                        TOKEN_RULES.contains(&RULES[ri].name)
                            && RULES[ri].keywords.iter().any(|rk| k.contains(rk))
                    })
                    .collect()
            })
            .collect();
        let token_automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&token_keywords)?;
        let mut triggers = vec![Vec::new(); keywords.len()];
        for (ki, k) in keywords.iter().enumerate() {
            for (ri, r) in RULES.iter().enumerate() {
                if r.keywords
                    .iter()
                    .any(|rk| k.contains(&rk.to_ascii_lowercase()))
                {
                    triggers[ki].push(ri);
                }
            }
        }
        // Case-insensitivity by folding: the text is lower-cased block by
        // block into a small buffer and searched with a case-sensitive
        // automaton, which lets aho-corasick use its SIMD (Teddy) prefilter
        // instead of a byte-at-a-time DFA.
        let max_keyword = keywords.iter().map(String::len).max().unwrap_or(1);
        let automata = keywords
            .chunks(TEDDY_LIMIT)
            .enumerate()
            .map(|(g, ks)| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(ks)
                    .map(|a| (a, g * TEDDY_LIMIT))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let regexes = RULES
            .iter()
            .map(|r| {
                regex::bytes::RegexBuilder::new(r.pattern)
                    .size_limit(32 << 20)
                    .build()
                    .map_err(|source| RuleError::Regex {
                        rule: r.name,
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let checks = RULES.iter().map(|r| Check::of(r.name)).collect();
        Ok(RuleSet {
            automata,
            token_automaton,
            token_triggers,
            max_keyword,
            checks,
            triggers,
            regexes,
        })
    }

    /// Appends the findings of every rule in `text` to `out`.
    pub(crate) fn scan(&self, text: &[u8], runs: &[Run], out: &mut Vec<Finding>) {
        // Windows per rule, collected in text order so merging is linear.
        let mut windows: Vec<Vec<Range<usize>>> = vec![Vec::new(); RULES.len()];
        let n = text.len();
        let mut folded: Vec<u8> = Vec::with_capacity(FOLD_BLOCK.min(n) + self.max_keyword);
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        let mut b = 0;
        while b < n {
            let e = (b + FOLD_BLOCK).min(n);
            // Keywords starting in [b, e) lie whole in the folded slice.
            let fe = (e + self.max_keyword - 1).min(n);
            folded.clear();
            folded.extend(text[b..fe].iter().map(u8::to_ascii_lowercase));
            hits.clear();
            for (ac, base) in &self.automata {
                for m in ac.find_iter(&folded) {
                    if m.start() >= e - b {
                        break;
                    }
                    hits.push((b + m.start(), b + m.end(), base + m.pattern().as_usize()));
                }
            }
            if self.automata.len() > 1 {
                hits.sort_unstable();
            }
            for &(ks, ke, kw) in &hits {
                self.add_hit(text, ks, ke, &self.triggers[kw], &mut windows);
            }
            b = e;
        }
        // Provider prefixes: every match of a token rule is a run of at
        // least `MIN_ENCODED` token bytes, so it lies in one of `runs`.
        for run in runs {
            for seg in &run.segments {
                for m in self.token_automaton.find_iter(&text[seg.clone()]) {
                    let (ks, ke) = (seg.start + m.start(), seg.start + m.end());
                    let triggers = &self.token_triggers[m.pattern().as_usize()];
                    self.add_hit(text, ks, ke, triggers, &mut windows);
                }
            }
        }
        // The two passes interleave: restore text order where they met.
        for w in &mut windows {
            if !w.is_sorted_by_key(|r| r.start) {
                w.sort_unstable_by_key(|r| r.start);
                let mut merged: Vec<Range<usize>> = Vec::with_capacity(w.len());
                for r in w.drain(..) {
                    match merged.last_mut() {
                        Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                        _ => merged.push(r),
                    }
                }
                *w = merged;
            }
        }
        for (ri, ws) in windows.iter().enumerate() {
            if ws.is_empty() {
                continue;
            }
            let rule = &RULES[ri];
            let re = &self.regexes[ri];
            for w in ws {
                let hay = &text[w.clone()];
                for caps in re.captures_iter(hay) {
                    if let Some(span) = extract(rule.extract, &caps, hay) {
                        if span.is_empty() {
                            continue;
                        }
                        out.push(Finding::new(
                            rule.detector,
                            rule.name,
                            (w.start + span.start)..(w.start + span.end),
                            rule.confidence,
                        ));
                    }
                }
            }
        }
    }
}

impl RuleSet {
    /// Opens (or widens) the windows of the rules a keyword hit triggers.
    #[inline]
    fn add_hit(
        &self,
        text: &[u8],
        ks: usize,
        ke: usize,
        triggers: &[usize],
        windows: &mut [Vec<Range<usize>>],
    ) {
        let n = text.len();
        for &ri in triggers {
            let r = &RULES[ri];
            let Some(reach) = self.checks[ri].admit(text, ks, ke) else {
                continue;
            };
            let start = extend_back(text, ks.saturating_sub(r.back));
            let end = match reach {
                Some(end) => extend_fwd(text, end.min(ke.saturating_add(r.fwd)).min(n)),
                None => extend_fwd(text, ke.saturating_add(r.fwd).min(n)),
            };
            let w = &mut windows[ri];
            match w.last_mut() {
                Some(last) if start <= last.end && start >= last.start => {
                    last.end = last.end.max(end)
                }
                _ => w.push(start..end),
            }
        }
    }
}

/// Rules whose keyword is a case-sensitive literal prefix of a match made
/// only of token bytes (`[A-Za-z0-9_-]`) and at least `MIN_ENCODED` long:
/// such a match always lies in a token run, so their prefixes are searched
/// there rather than in the whole text, which keeps the keyword automaton
/// of the text pass small enough for one SIMD (Teddy) pass.
const TOKEN_RULES: &[&str] = &[
    "aws-access-key-id",
    "google-api-key",
    "google-oauth-client-secret",
    "github-classic-pat",
    "github-oauth-token",
    "github-app-token",
    "github-fine-grained-pat",
    "gitlab-token",
    "gitlab-runner-registration",
    "slack-app-token",
    "stripe-secret-key",
    "anthropic-api-key",
    "openai-api-key",
    "huggingface-token",
    "npm-access-token",
    "pypi-upload-token",
    "mailgun-api-key",
];

/// Text folded to lower case per block for the keyword search.
const FOLD_BLOCK: usize = 64 * 1024;

/// Teddy handles up to 64 patterns. Every keyword has at least 3 bytes, so
/// Teddy matches 3-byte fingerprints (a 2-byte keyword such as `q~` makes it
/// fall back to 2 and verify far more false candidates in prose).
const TEDDY_LIMIT: usize = 64;

/// Necessary conditions for a rule's regex to match through a keyword hit,
/// checked on the raw bytes before any regex runs. Each is implied by the
/// rule's pattern, so skipping a hit that fails it loses no match; the
/// returned end bounds the window where the pattern can still be matching.
#[derive(Clone, Copy)]
enum Check {
    /// No condition; the window reaches `fwd` past the hit.
    None,
    /// `key = value`: the key ends at most a few letters after the keyword
    /// (`passw|ord`, `secret|_key`), then quote, spaces, an operator; the
    /// value is on that line or the next.
    Assignment,
    /// `authorization["']? *[:=]`.
    Authorization,
    /// `bearer\s+` and at least 16 token bytes.
    Bearer,
    /// `scheme://userinfo:password@`: no byte outside userinfo before `@`.
    UrlPassword,
    /// A case-sensitive literal at the hit, not preceded by a word byte,
    /// then a run of word bytes.
    Prefix(&'static [u8]),
    /// JWT: the match is a run of `[A-Za-z0-9_.-]`.
    Dotted,
    /// PEM block: `PRIVATE KEY` (case-sensitive) in a `-----BEGIN` header;
    /// the body stops at the first `--`, so the match ends within an END
    /// line after the first `-----END`.
    Pem,
}

impl Check {
    fn of(rule: &str) -> Check {
        match rule {
            "secret-assignment" => Check::Assignment,
            "authorization-header" => Check::Authorization,
            "bearer-token" => Check::Bearer,
            "url-with-password" => Check::UrlPassword,
            "openai-api-key" => Check::Prefix(b"sk-"),
            "mailgun-api-key" => Check::Prefix(b"key-"),
            "jwt" => Check::Dotted,
            "pem-private-key" => Check::Pem,
            _ => Check::None,
        }
    }

    /// `None`: the rule cannot match through this hit. `Some(None)`: no
    /// bound known. `Some(Some(end))`: the match ends before `end`.
    #[inline]
    fn admit(self, t: &[u8], ks: usize, ke: usize) -> Option<Option<usize>> {
        let n = t.len();
        let ws = |b: u8| b.is_ascii_whitespace() || b == 0x0b || b >= 0x80;
        match self {
            Check::None => Some(None),
            Check::Assignment => {
                let mut i = ke;
                let lim = (ke + 4).min(n);
                while i < lim && (t[i].is_ascii_alphabetic() || matches!(t[i], b'_' | b'-')) {
                    i += 1;
                }
                if i < n && matches!(t[i], b'"' | b'\'') {
                    i += 1;
                }
                // `\s{0,4}`, Unicode spaces being up to 3 bytes each.
                let lim = (i + 12).min(n);
                while i < lim && ws(t[i]) {
                    i += 1;
                }
                if i >= n || !matches!(t[i], b'=' | b':' | b'-') {
                    return None;
                }
                // The value starts within a few bytes; it ends on its line.
                let from = (i + 16).min(n);
                let end = memchr::memchr(b'\n', &t[from..]).map_or(n, |p| from + p + 1);
                Some(Some(end))
            }
            Check::Authorization => {
                let mut i = ke;
                if i < n && t[i] == b'\\' {
                    i += 1;
                }
                if i < n && matches!(t[i], b'"' | b'\'') {
                    i += 1;
                }
                let lim = (i + 12).min(n);
                while i < lim && ws(t[i]) {
                    i += 1;
                }
                if i >= n || !matches!(t[i], b':' | b'=') {
                    return None;
                }
                // `\\?["']?\s{0,4}(?:scheme\s+)?value`: the value is the
                // first token run, or the one after it (the scheme word is
                // a run of token bytes itself); it ends at a non-token byte.
                let tok = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=:".contains(&b);
                i += 1;
                for _ in 0..2 {
                    while i < n && (ws(t[i]) || matches!(t[i], b'\\' | b'"' | b'\'')) {
                        i += 1;
                    }
                    while i < n && tok(t[i]) {
                        i += 1;
                    }
                }
                Some(Some((i + 1).min(n)))
            }
            Check::Bearer => {
                let mut i = ke;
                while i < n && ws(t[i]) {
                    i += 1;
                }
                if i == ke {
                    return None;
                }
                let s = i;
                while i < n
                    && (t[i].is_ascii_alphanumeric()
                        || matches!(t[i], b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
                {
                    i += 1;
                }
                if i - s < 16 {
                    return None;
                }
                while i < n && t[i] == b'=' {
                    i += 1;
                }
                Some(Some(i))
            }
            Check::UrlPassword => {
                let mut i = ke;
                let lim = (ke + 1024).min(n);
                while i < lim
                    && (t[i].is_ascii_alphanumeric()
                        || matches!(
                            t[i],
                            b'.' | b'_'
                                | b'~'
                                | b'%'
                                | b'!'
                                | b'$'
                                | b'&'
                                | b'('
                                | b')'
                                | b'*'
                                | b'+'
                                | b','
                                | b';'
                                | b'='
                                | b':'
                                | b'-'
                        ))
                {
                    i += 1;
                }
                (i < n && t[i] == b'@').then_some(Some((i + 2).min(n)))
            }
            Check::Prefix(lit) => {
                let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
                if !t[ks..].starts_with(lit) || (ks > 0 && word(t[ks - 1])) {
                    return None;
                }
                let mut i = ks + lit.len();
                while i < n && word(t[i]) {
                    i += 1;
                }
                Some(Some((i + 1).min(n)))
            }
            Check::Pem => {
                const BEGIN: &[u8] = b"-----BEGIN";
                const END: &[u8] = b"-----END";
                if &t[ks..ke] != b"PRIVATE KEY" {
                    return None;
                }
                // `-----BEGIN[A-Z0-9 ]{0,32}` right before the hit.
                let from = ks.saturating_sub(BEGIN.len() + 32);
                let b = memchr::memmem::rfind(&t[from..ks], BEGIN)?;
                if !t[from + b + BEGIN.len()..ks]
                    .iter()
                    .all(|c| matches!(c, b'A'..=b'Z' | b'0'..=b'9' | b' '))
                {
                    return None;
                }
                let lim = (ke + 24 * 1024).min(n);
                let end = memchr::memmem::find(&t[ke..lim], END)
                    .map_or(lim, |p| (ke + p + END.len() + 64).min(n));
                Some(Some(end))
            }
            Check::Dotted => {
                let mut i = ke;
                while i < n && (t[i].is_ascii_alphanumeric() || matches!(t[i], b'_' | b'-' | b'.'))
                {
                    i += 1;
                }
                Some(Some(i))
            }
        }
    }
}

/// Whether a byte can be part of a token, for widening windows so that a
/// window never starts or ends in the middle of one.
fn is_tokenish(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'~')
}

const WIDEN: usize = 256;

fn extend_back(text: &[u8], mut i: usize) -> usize {
    let floor = i.saturating_sub(WIDEN);
    while i > floor && is_tokenish(text[i - 1]) {
        i -= 1;
    }
    i
}

fn extend_fwd(text: &[u8], mut i: usize) -> usize {
    let ceil = i.saturating_add(WIDEN).min(text.len());
    while i < ceil && is_tokenish(text[i]) {
        i += 1;
    }
    i
}

fn extract(how: Extract, caps: &Captures<'_>, hay: &[u8]) -> Option<Range<usize>> {
    match how {
        Extract::Whole => caps.get(0).map(|m| m.range()),
        Extract::Group(g) => caps.get(g).map(|m| m.range()),
        Extract::UrlPassword => {
            let host = hay.get(caps.get(0)?.end()).copied()?;
            let host_ok =
                host.is_ascii_alphanumeric() || matches!(host, b'.' | b'-' | b'[' | b']' | b'_');
            host_ok.then(|| caps.get(1).map(|m| m.range())).flatten()
        }
        Extract::Bearer => {
            let m = caps.get(1)?;
            plausible_token(m.as_bytes()).then(|| m.range())
        }
        Extract::Assignment => {
            let kw = caps.get(1)?;
            let ident = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
            let prefix = hay[..kw.start()]
                .iter()
                .rev()
                .take(MAX_KEY_PREFIX)
                .take_while(|b| ident(b))
                .count();
            let key = &hay[kw.start() - prefix..kw.end()];
            let (value, quoted) = match (caps.get(2), caps.get(3), caps.get(4), caps.get(5)) {
                (Some(v), _, _, _) | (_, Some(v), _, _) | (_, _, Some(v), _) => (v, true),
                (_, _, _, Some(v)) => (v, false),
                _ => return None,
            };
            let next = hay.get(value.end()).copied();
            plausible_assigned_secret(key, value.as_bytes(), quoted, next).then(|| value.range())
        }
    }
}

/// Whether a `Bearer`-style token looks like a credential rather than prose.
fn plausible_token(t: &[u8]) -> bool {
    let has_digit = t.iter().any(u8::is_ascii_digit);
    let has_alpha = t.iter().any(u8::is_ascii_alphabetic);
    has_digit && has_alpha && !t.starts_with(b"[REDACTED")
}

/// Plausibility of the value of `key = value`: rejects placeholders,
/// numbers, code expressions and prose, which make up most such assignments
/// in ordinary output (`max_tokens = 512`, `password = getpass()`).
fn plausible_assigned_secret(key: &[u8], value: &[u8], quoted: bool, next: Option<u8>) -> bool {
    // Sentence punctuation after a bare value is not part of it.
    let mut v = value;
    if !quoted {
        while let [rest @ .., b'.' | b'!' | b'?' | b':'] = v {
            v = rest;
        }
    }
    if v.len() < 6 || memchr::memmem::find(v, b"[REDACTED:").is_some() {
        return false;
    }
    // The shell's working directory, not a password.
    if key.eq_ignore_ascii_case(b"pwd") || key.eq_ignore_ascii_case(b"oldpwd") {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    const PLACEHOLDERS: &[&[u8]] = &[
        b"none",
        b"null",
        b"nil",
        b"undefined",
        b"true",
        b"false",
        b"redacted",
        b"******",
        b"<redacted>",
        b"hidden",
        b"masked",
        b"required",
        b"optional",
        b"string",
        b"your_password",
        b"your-password",
        b"<password>",
        b"password",
        b"secret",
        b"token",
        b"example",
        b"os.environ",
        b"getpass",
        b"input",
    ];
    if PLACEHOLDERS.iter().any(|p| lower == *p) {
        return false;
    }
    // Masked, templated or referenced values.
    if v.iter()
        .all(|&b| b == b'*' || b == b'x' || b == b'X' || b == b'.' || b == b'-' || b == b'#')
        || v.starts_with(b"${")
        || v.starts_with(b"$(")
        || v.starts_with(b"{{")
        || v.starts_with(b"%(")
        || (v.starts_with(b"<") && v.ends_with(b">"))
    {
        return false;
    }
    // Numbers: token counts, ports, timeouts.
    if v.iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'e' | b'E' | b'+'))
    {
        return false;
    }
    if quoted {
        // A quoted value with spaces is prose (a prompt or a label) unless it
        // also has digits or symbols; passphrases of plain words are rare in
        // output and this is the common false positive.
        if v.contains(&b' ') {
            let words = v.split(|&b| b == b' ').filter(|w| !w.is_empty()).count();
            let symbolic = v
                .iter()
                .any(|b| b.is_ascii_digit() || b.is_ascii_punctuation());
            return words <= 3 && symbolic;
        }
        return true;
    }
    // Bare values: code expressions (`get_token()`, `cfg.secret`, `env["X"]`).
    if matches!(next, Some(b'(') | Some(b'[')) {
        return false;
    }
    if is_dotted_identifier(v) {
        return false;
    }
    let has_digit = v.iter().any(u8::is_ascii_digit);
    let has_upper = v.iter().any(u8::is_ascii_uppercase);
    let has_lower = v.iter().any(u8::is_ascii_lowercase);
    let has_sym = v.iter().any(|b| !b.is_ascii_alphanumeric());
    let classes = [has_digit, has_upper, has_lower, has_sym]
        .iter()
        .filter(|&&c| c)
        .count();
    // Plain words (`expired`, `missing`) stay; anything mixed or long goes.
    classes >= 2 || v.len() >= 12
}

fn is_dotted_identifier(v: &[u8]) -> bool {
    let mut parts = 0;
    for p in v.split(|&b| b == b'.') {
        let ok = !p.is_empty()
            && (p[0].is_ascii_alphabetic() || p[0] == b'_')
            && p.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if !ok {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

/// Names of all rule-based detectors, for documentation and tests.
pub(crate) fn detector_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = RULES.iter().map(|r| r.detector).collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(t: &str) -> Vec<Finding> {
        let rs = RuleSet::new().expect("rules compile");
        let mut v = Vec::new();
        let mut runs = Vec::new();
        crate::encoded::runs(t.as_bytes(), crate::encoded::MIN_ENCODED, &mut runs);
        rs.scan(t.as_bytes(), &runs, &mut v);
        v
    }

    #[test]
    fn finds_basic_forms() {
        let f = scan("key=AKIAIOSFODNN7EXAMPLE rest");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].span, 4..24);
        let f = scan(r#"DB_PASSWORD="hunter2!x""#);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(scan("max_tokens = 512").is_empty());
        assert!(scan("tokenizer = AutoTokenizer.from_pretrained(name)").is_empty());
        assert!(scan("password = getpass()").is_empty());
        assert!(scan("the bearer of bad news").is_empty());
    }

    #[test]
    fn url_passwords_sharing_a_byte_are_all_found() {
        // Fuzz case: the host byte of the first URL is the scheme of the
        // second; both passwords must be found in one pass.
        let t = ",2rb://)QQQQQQ+:VVQQVV+VVVQQV@V://)QQQQQQ+:VVQQVV+VVVQQV@VV";
        let f = scan(t);
        let spans: Vec<_> = f.iter().map(|x| &t[x.span.clone()]).collect();
        assert_eq!(spans, vec!["VVQQVV+VVVQQV", "VVQQVV+VVVQQV"], "{f:?}");
        let f = scan("postgres://u:p4ss@h://v:q5ss@db/x");
        assert_eq!(f.len(), 2, "{f:?}");
        // No host byte after `@`: not a URL with a password.
        assert!(scan("a://u:pw@ ").is_empty());
    }

    #[test]
    fn one_text_automaton_with_long_enough_keywords() {
        let rs = RuleSet::new().expect("rules compile");
        assert_eq!(rs.automata.len(), 1);
        for r in RULES {
            for k in r.keywords {
                assert!(k.len() >= 3, "{k}");
            }
        }
        // Token-run prefixes still fire anywhere in a run, and not across
        // a non-token byte.
        assert_eq!(scan("x=AKIAIOSFODNN7EXAMPLE").len(), 1);
        assert_eq!(
            scan("id_ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5Zz").len(),
            1
        );
        assert!(scan("ghp_ aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5Zz").is_empty());
    }

    #[test]
    fn pem_and_authorization_checks_keep_matches() {
        // PEM blocks, also JSON-escaped, and prose naming them.
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7\n-----END RSA PRIVATE KEY-----";
        let f = scan(&format!("key:\n{pem}\nrest"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].span.len(), pem.len());
        let esc = pem.replace('\n', "\\n");
        assert_eq!(scan(&format!("{{\"private_key\": \"{esc}\"}}")).len(), 1);
        assert!(scan("store the PRIVATE KEY safely; -----END of notes").is_empty());
        // Authorization headers, with or without a scheme and quotes.
        for h in [
            "Authorization: Bearer abcDEF123456ghiJKL",
            "\"authorization\": \"Basic dXNlcjpwYXNzd29yZA==\"",
            "authorization=tok_9f8e7d6c5b4a",
        ] {
            let f = scan(h);
            assert!(
                f.iter().any(|x| x.rule == "authorization-header"),
                "{h}: {f:?}"
            );
        }
    }
}

//! Provider-specific and keyword-anchored secret rules.
//!
//! Every rule names the keywords that must occur near a match, and each is
//! anchored where such a match can only be, so that no rule looks at every
//! byte: provider prefixes inside token runs ([`TOKEN_RULES`]), `key =
//! value` forms at their operator ([`SITE_RULES`], [`crate::assignment`]),
//! keys of a known shape at a value of that shape, Discord, Telegram,
//! SendGrid and Mailgun keys at their token runs ([`RUN_ANCHORED`]), and the
//! rest at the hits of one slim Teddy pass over a dozen keywords. A rule's
//! regex then runs only over a window around its anchor, after a cheap
//! necessary condition ([`Check`]); private-key blocks, assignments and
//! `Authorization` headers are parsed by hand. The cost is the classifying
//! pass, one keyword pass, and work proportional to runs and anchors.
//!
//! The formats are written from the providers' documented token shapes
//! (prefixes, lengths, alphabets), not copied from any other scanner's rules.

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{CaptureLocations, Regex};

use crate::assignment::{
    authorization_value, is_secret_key, may_be_named_key, plausible_assigned_secret, sites, value,
    KeySuffix, RunMemo,
};
use crate::classify::Classes;
use crate::encoded::{Run, DIGIT, NONHEX, STDSYM, UPPER, URLSAFE};
use crate::finding::{Confidence, Finding};
use crate::prefetch::Prefetch;

/// How the secret span is taken from a regex match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extract {
    /// The whole match.
    Whole,
    /// One capture group.
    Group(usize),
    /// Found and parsed at operator sites ([`crate::assignment`]); the
    /// pattern documents the form and is not run.
    Site,
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
        extract: Extract::Site, confidence: H, back: 0, fwd: 160 },
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
        pattern: r"(?:^|[^A-Za-z0-9_\-])([MNO][A-Za-z0-9_\-]{22,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})(?:[^A-Za-z0-9_\-]|$)",
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
    // Model providers an RLM runtime is likely to hold keys for: their keys
    // are what a model's code finds first in the environment.
    RuleDef { detector: "openrouter-key", name: "openrouter-api-key", keywords: &["sk-or-v1-"],
        pattern: r"sk-or-v1-[0-9a-f]{64}", extract: Extract::Whole, confidence: H, back: 0, fwd: 80 },
    // `sk-` and 32 lower-case hex digits (DeepSeek, DashScope): the bounds
    // keep it off longer hex ids that happen to follow an `sk-`.
    RuleDef { detector: "ai-api-key", name: "sk-hex-api-key", keywords: &["sk-"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(sk-[0-9a-f]{32})(?:[^A-Za-z0-9_\-]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 40 },
    RuleDef { detector: "groq-key", name: "groq-api-key", keywords: &["gsk_"],
        pattern: r"gsk_[A-Za-z0-9]{48,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 120 },
    RuleDef { detector: "xai-key", name: "xai-api-key", keywords: &["xai-"],
        pattern: r"xai-[A-Za-z0-9]{70,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 160 },
    RuleDef { detector: "perplexity-key", name: "perplexity-api-key", keywords: &["pplx-"],
        pattern: r"pplx-[A-Za-z0-9]{40,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 120 },
    RuleDef { detector: "replicate-token", name: "replicate-api-token", keywords: &["r8_"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(r8_[A-Za-z0-9]{30,})", extract: Extract::Group(1), confidence: H, back: 1, fwd: 120 },
    RuleDef { detector: "nvidia-key", name: "nvidia-api-key", keywords: &["nvapi-"],
        pattern: r"nvapi-[A-Za-z0-9_\-]{60,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 160 },
    RuleDef { detector: "cerebras-key", name: "cerebras-api-key", keywords: &["csk-"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(csk-[A-Za-z0-9]{40,})", extract: Extract::Group(1), confidence: H, back: 1, fwd: 120 },
    RuleDef { detector: "elevenlabs-key", name: "elevenlabs-api-key", keywords: &["sk_"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(sk_[0-9a-f]{48})(?:[^A-Za-z0-9_\-]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 56 },
    RuleDef { detector: "tavily-key", name: "tavily-api-key", keywords: &["tvly-"],
        pattern: r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{30,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 120 },
    RuleDef { detector: "langsmith-key", name: "langsmith-api-key", keywords: &["lsv2_"],
        pattern: r"lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}", extract: Extract::Whole, confidence: H, back: 0, fwd: 56 },
    // --- package registries
    RuleDef { detector: "npm-token", name: "npm-access-token", keywords: &["npm_"],
        pattern: r"(?:^|[^A-Za-z0-9])(npm_[A-Za-z0-9]{36})(?:[^A-Za-z0-9]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 48 },
    // Quotes as in assignments (a backquote too), and no value starting
    // with `[`: a redaction marker must never read as a token, or a second
    // pass over redacted output would find one.
    RuleDef { detector: "npm-token", name: "npmrc-auth-token", keywords: &["_authToken"],
        pattern: r#"_authToken\s*=\s*["'`]?([^\s"'`$\[][^\s"'`]{7,})"#, extract: Extract::Group(1), confidence: H, back: 0, fwd: 300 },
    RuleDef { detector: "pypi-token", name: "pypi-upload-token", keywords: &["pypi-Ag"],
        pattern: r"pypi-Ag[A-Za-z0-9_\-]{50,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 600 },
    RuleDef { detector: "rubygems-key", name: "rubygems-api-key", keywords: &["rubygems_"],
        pattern: r"rubygems_[0-9a-f]{48}", extract: Extract::Whole, confidence: H, back: 0, fwd: 64 },
    // --- cloud platforms and developer services
    RuleDef { detector: "aws-session-token", name: "aws-session-token", keywords: &["IQoJb3JpZ2luX2", "GZXIvYXdzE"],
        pattern: r"(?:IQoJb3JpZ2luX2|FwoGZXIvYXdzE|FQoGZXIvYXdzE)[A-Za-z0-9+/]{100,}={0,2}", extract: Extract::Whole, confidence: H, back: 0, fwd: 4096 },
    RuleDef { detector: "digitalocean-token", name: "digitalocean-token", keywords: &["_v1_"],
        pattern: r"do[opr]_v1_[0-9a-f]{64}", extract: Extract::Whole, confidence: H, back: 0, fwd: 80 },
    RuleDef { detector: "databricks-token", name: "databricks-token", keywords: &["dapi"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(dapi[0-9a-f]{32}(?:-[0-9]{1,2})?)(?:[^A-Za-z0-9_\-]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 48 },
    RuleDef { detector: "supabase-key", name: "supabase-secret-key", keywords: &["sbp_", "sb_secret_"],
        pattern: r"sbp_[0-9a-f]{40}|sb_secret_[A-Za-z0-9_\-]{20,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 120 },
    RuleDef { detector: "shopify-token", name: "shopify-token", keywords: &["shp"],
        pattern: r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}", extract: Extract::Whole, confidence: H, back: 0, fwd: 40 },
    RuleDef { detector: "square-token", name: "square-token", keywords: &["sq0"],
        pattern: r"sq0atp-[A-Za-z0-9_\-]{22,}|sq0csp-[A-Za-z0-9_\-]{40,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 80 },
    RuleDef { detector: "postman-key", name: "postman-api-key", keywords: &["PMAK-"],
        pattern: r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}", extract: Extract::Whole, confidence: H, back: 0, fwd: 64 },
    RuleDef { detector: "newrelic-key", name: "newrelic-user-key", keywords: &["NRAK-"],
        pattern: r"NRAK-[A-Z0-9]{27}", extract: Extract::Whole, confidence: H, back: 0, fwd: 32 },
    RuleDef { detector: "pulumi-token", name: "pulumi-access-token", keywords: &["pul-"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(pul-[0-9a-f]{40})(?:[^A-Za-z0-9_\-]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 48 },
    RuleDef { detector: "sentry-token", name: "sentry-token", keywords: &["sntry"],
        pattern: r"sntryu_[0-9a-f]{64}|sntrys_eyJ[A-Za-z0-9+/=_]{30,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 600 },
    RuleDef { detector: "grafana-token", name: "grafana-token", keywords: &["glc_eyJ", "glsa_"],
        pattern: r"glc_eyJ[A-Za-z0-9+/=_]{30,}|glsa_[A-Za-z0-9]{32}_[0-9a-f]{8}", extract: Extract::Whole, confidence: H, back: 0, fwd: 600 },
    RuleDef { detector: "onepassword-token", name: "onepassword-service-account-token", keywords: &["ops_eyJ"],
        pattern: r"ops_eyJ[A-Za-z0-9+/=_\-]{30,}", extract: Extract::Whole, confidence: H, back: 0, fwd: 2048 },
    RuleDef { detector: "age-secret-key", name: "age-secret-key", keywords: &["AGE-SECRET-KEY-1"],
        pattern: r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", extract: Extract::Whole, confidence: H, back: 0, fwd: 64 },
    // --- mail / SMS
    RuleDef { detector: "sendgrid-key", name: "sendgrid-api-key", keywords: &["SG."],
        pattern: r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,50}", extract: Extract::Whole, confidence: H, back: 0, fwd: 96 },
    RuleDef { detector: "twilio-key", name: "twilio-auth-token", keywords: &["twilio"],
        pattern: r#"(?i)twilio[A-Za-z0-9_.\- ]{0,32}?(?:auth|token|secret|key)[A-Za-z0-9_.\-]{0,20}["']?\s{0,4}(?:=|:)\s{0,4}["']?([a-f0-9]{32}|SK[0-9a-fA-F]{32})(?:[^A-Za-z0-9]|$)"#,
        extract: Extract::Group(1), confidence: H, back: 0, fwd: 160 },
    RuleDef { detector: "mailgun-key", name: "mailgun-api-key", keywords: &["key-"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])(key-[0-9a-f]{32})(?:[^A-Za-z0-9]|$)", extract: Extract::Group(1), confidence: H, back: 1, fwd: 40 },
    // The key is 32 hex digits then its data centre (`-us6`): the suffix
    // is the anchor, the hex before it is read back.
    RuleDef { detector: "mailchimp-key", name: "mailchimp-api-key", keywords: &["-us"],
        pattern: r"(?:^|[^A-Za-z0-9_\-])([0-9a-f]{32}-us[0-9]{1,2})(?:[^A-Za-z0-9_\-]|$)", extract: Extract::Group(1), confidence: H, back: 33, fwd: 4 },
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
        extract: Extract::Site, confidence: H, back: 0, fwd: 4200 },
    RuleDef { detector: "auth-header", name: "bearer-token", keywords: &["bearer"],
        pattern: r"(?i)bearer\s+([A-Za-z0-9\-._~+/]{16,}=*)", extract: Extract::Bearer, confidence: M, back: 0, fwd: 4200 },
    RuleDef { detector: "secret-assignment", name: "secret-assignment",
        keywords: &["passw", "pwd", "secret", "token", "api_key", "apikey", "api-key", "access_key", "access-key", "private_key", "private-key", "signing", "encryption_key", "auth", "credential", "passphrase"],
        pattern: assignment_pattern!(), extract: Extract::Site, confidence: M, back: 56, fwd: 600 },
];

/// The compiled rule set: one keyword automaton for the text, one for the
/// prefixes inside token runs, the operator-site rules, and one regex per
/// rule.
pub(crate) struct RuleSet {
    /// Keywords searched case-sensitively in the raw text (one SIMD Teddy
    /// pass; case-insensitive keywords are listed in their usual spellings,
    /// see [`CASE_VARIANTS`]).
    text_automaton: AhoCorasick,
    /// For each text automaton pattern, the rules it triggers.
    triggers: Vec<Vec<usize>>,
    /// Keywords of [`TOKEN_RULES`], searched case-sensitively in token runs
    /// only: one automaton per [`TEDDY_LIMIT`] of them at most (past that
    /// number Teddy gives up and the automaton reads every byte), each with
    /// the rules that each of its patterns triggers.
    token_passes: Vec<(AhoCorasick, Vec<Vec<usize>>)>,
    /// Per rule: the necessary condition checked at a keyword hit before
    /// its regex runs, and how far the window really needs to reach.
    checks: Vec<Check>,
    /// Indexes of the rules found from anchors of their own (operators,
    /// value shapes, token runs, `~`) rather than by keyword.
    anchored: AnchoredRules,
    /// Per rule, its regex, compiled when a window first needs it: compiling
    /// all of them takes ~39 M instructions, nearly all of what a short
    /// `rlm egress` run costs, and most outputs open windows for few rules.
    /// `None` if it did not compile (a bug the tests catch); its windows
    /// are then cut whole.
    regexes: Vec<OnceLock<Option<Regex>>>,
}

/// The regex of a rule of [`RULES`].
fn compile(rule: &RuleDef) -> Result<Regex, RuleError> {
    regex::bytes::RegexBuilder::new(rule.pattern)
        .size_limit(32 << 20)
        .build()
        .map_err(|source| RuleError::Regex {
            rule: rule.name,
            source,
        })
}

/// Indexes into [`RULES`] of the rules found from anchors of their own:
/// operator sites ([`SITE_RULES`]), values of a known shape, token runs and
/// `~` ([`RUN_ANCHORED`]).
struct AnchoredRules {
    assignment: usize,
    authorization: usize,
    npmrc: usize,
    azure_connection: usize,
    gcp_key_id: usize,
    azure_sas: usize,
    aws_secret: usize,
    azure_storage: usize,
    twilio: usize,
    azure_client_secret: usize,
    discord_bot: usize,
    telegram: usize,
    sendgrid: usize,
    mailgun_private: usize,
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
    #[error("built-in rule {0} is missing from the table")]
    Missing(&'static str),
}

/// Rules found at `key = value` operator sites instead of by keyword (their
/// keywords are the keys, compared at the site).
const SITE_RULES: &[&str] = &[
    "secret-assignment",
    "authorization-header",
    "npmrc-auth-token",
    "azure-connection-string-key",
    "gcp-private-key-id",
    "azure-sas-signature",
    "aws-secret-access-key",
    "azure-storage-key-assignment",
    "twilio-auth-token",
];

/// Keywords matched regardless of case before: searched in these spellings
/// (lower, Capitalised, UPPER), which keeps the text automaton one
/// case-sensitive Teddy pass over the raw bytes (no lower-cased copy).
const CASE_VARIANTS: &[&str] = &["bearer"];

/// Rules whose keyword sits right before, or a few hundred bytes before, a
/// token run of their shape: found from the runs ([`RuleSet::run_anchored`])
/// and the `~` of Azure secrets, which keeps the text automaton at a dozen
/// keywords (one slim Teddy pass, about twice as fast as the fat one).
const RUN_ANCHORED: &[&str] = &[
    "azure-ad-client-secret",
    "discord-bot-token",
    "telegram-bot-token",
    "sendgrid-api-key",
    "mailgun-private-key",
];

fn rule_index(name: &'static str) -> Result<usize, RuleError> {
    RULES
        .iter()
        .position(|r| r.name == name)
        .ok_or(RuleError::Missing(name))
}

impl RuleSet {
    pub(crate) fn new() -> Result<Self, RuleError> {
        // Distinct keywords, each mapped to every rule that names it or names
        // a keyword contained in it, so that a leftmost-longest pass loses
        // nothing to a longer overlapping keyword (`sk-ant-` must still
        // trigger the `sk-` rule's neighbours).
        let mut keywords: Vec<String> = Vec::new();
        let mut token_keywords: Vec<&'static str> = Vec::new();
        for r in RULES {
            if SITE_RULES.contains(&r.name) || RUN_ANCHORED.contains(&r.name) {
                continue;
            }
            for k in r.keywords {
                if TOKEN_RULES.contains(&r.name) {
                    if !token_keywords.contains(k) {
                        token_keywords.push(k);
                    }
                    continue;
                }
                let mut spellings = vec![k.to_string()];
                if CASE_VARIANTS.contains(k) {
                    let mut cap = k.to_string();
                    cap[..1].make_ascii_uppercase();
                    spellings.push(cap);
                    spellings.push(k.to_ascii_uppercase());
                }
                for s in spellings {
                    if !keywords.contains(&s) {
                        keywords.push(s);
                    }
                }
            }
        }
        // Within a pass the longest match wins and triggers the rules of
        // every keyword it contains; a keyword in another pass is found by
        // that pass (the rules' windows are merged after all of them).
        // As few passes as Teddy allows, evenly filled: a fuller pass
        // verifies more false candidates (64 keywords in one pass cost
        // more than 37 and 36 in two).
        let per_pass = token_keywords
            .len()
            .div_ceil(token_keywords.len().div_ceil(TEDDY_LIMIT).max(1))
            .max(1);
        let token_passes = token_keywords
            .chunks(per_pass)
            .map(|chunk| {
                keyword_pass(chunk, |r, k| {
                    TOKEN_RULES.contains(&r.name) && r.keywords.iter().any(|rk| k.contains(rk))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (text_automaton, triggers) = keyword_pass(&keywords, |r, k| {
            !TOKEN_RULES.contains(&r.name)
                && !SITE_RULES.contains(&r.name)
                && !RUN_ANCHORED.contains(&r.name)
                && r.keywords.iter().any(|rk| {
                    k.contains(rk)
                        || (CASE_VARIANTS.contains(rk) && k.to_ascii_lowercase().contains(rk))
                })
        })?;
        let regexes = RULES.iter().map(|_| OnceLock::new()).collect();
        let checks = RULES.iter().map(|r| Check::of(r.name)).collect();
        let anchored = AnchoredRules {
            assignment: rule_index("secret-assignment")?,
            authorization: rule_index("authorization-header")?,
            npmrc: rule_index("npmrc-auth-token")?,
            azure_connection: rule_index("azure-connection-string-key")?,
            gcp_key_id: rule_index("gcp-private-key-id")?,
            azure_sas: rule_index("azure-sas-signature")?,
            aws_secret: rule_index("aws-secret-access-key")?,
            azure_storage: rule_index("azure-storage-key-assignment")?,
            twilio: rule_index("twilio-auth-token")?,
            azure_client_secret: rule_index("azure-ad-client-secret")?,
            discord_bot: rule_index("discord-bot-token")?,
            telegram: rule_index("telegram-bot-token")?,
            sendgrid: rule_index("sendgrid-api-key")?,
            mailgun_private: rule_index("mailgun-private-key")?,
        };
        Ok(RuleSet {
            text_automaton,
            triggers,
            token_passes,
            checks,
            anchored,
            regexes,
        })
    }

    /// Appends the findings of every rule in `text` to `out`.
    /// `classes` is what [`crate::classify`] found in `text`.
    pub(crate) fn scan(
        &self,
        text: &[u8],
        runs: &[Run],
        classes: &Classes,
        out: &mut Vec<Finding>,
    ) {
        // Windows per rule, collected in text order so merging is linear.
        let mut windows = Windows::new();
        for m in self.text_automaton.find_iter(text) {
            let triggers = &self.triggers[m.pattern().as_usize()];
            self.add_hit(text, m.start(), m.end(), triggers, &mut windows, out);
        }
        self.scan_sites(text, &classes.anchors, &mut windows, out);
        // Azure AD client secrets: `<digit>Q~` (`~` is rare in text).
        for &p in &classes.rare {
            if text[p] == b'~' && p >= 2 && text[p - 1] == b'Q' && text[p - 2].is_ascii_digit() {
                let ri = self.anchored.azure_client_secret;
                self.add_hit(text, p - 2, p + 1, &[ri], &mut windows, out);
            }
        }
        // Private-key blocks found so far (in text order) are cut whole: the
        // runs of their bodies need no rule of their own.
        let blocks: Vec<Range<usize>> = out
            .iter()
            .filter(|f| f.rule == "pem-private-key")
            .map(|f| f.span.clone())
            .collect();
        let mut bi = 0;
        // The runs that may hold a provider prefix, joined with a space
        // between them (no prefix has one, so no match spans two), for one
        // search instead of one per run: most runs are too short for the
        // SIMD searcher, and setting up a search costs more than a short run.
        // Sized, when the first run joins it, for what the runs that may
        // hold a prefix usually take of a text (it grows by doubling past
        // that, copying less than it ends up holding). Summing the runs'
        // lengths instead would read every run once more, from far caches;
        // sizing it for the whole text would take fresh pages from the
        // kernel on every call; and most short texts join no run at all.
        let mut joined: Vec<u8> = Vec::new();
        // Where each joined segment starts: in `joined`, and in `text`.
        let mut joined_at: Vec<(usize, usize)> = Vec::new();
        let prefetch = Prefetch::new();
        for (idx, run) in runs.iter().enumerate() {
            prefetch.run_ahead(text, runs, idx);
            while bi < blocks.len() && blocks[bi].end < run.span.end {
                bi += 1;
            }
            if blocks
                .get(bi)
                .is_some_and(|b| b.start <= run.span.start && run.span.end <= b.end)
            {
                continue;
            }
            self.shaped_values(text, run, &mut windows);
            self.run_anchored(text, run, &mut windows, out);
            // Provider prefixes: every match of a token rule is a run of at
            // least `MIN_ENCODED` token bytes, so it lies in one of `runs`;
            // and every keyword has an upper-case letter, or a non-hex
            // letter next to `-`/`_`/`+`/`/`, or `/` and a digit, or is
            // Databricks' `dapi`, which starts its run (the rule wants no
            // token byte before it), so hex digests, UUIDs and plain words
            // need no search.
            let f = run.flags;
            let may_hold_prefix = f & UPPER != 0
                || (f & NONHEX != 0 && f & (URLSAFE | STDSYM) != 0)
                || (f & STDSYM != 0 && f & DIGIT != 0)
                || run.starts_with(text, b"dapi");
            if !may_hold_prefix {
                continue;
            }
            if joined.capacity() == 0 {
                joined.reserve(text.len() / 8);
            }
            for seg in run.segments(text) {
                joined_at.push((joined.len(), seg.start));
                joined.extend_from_slice(&text[seg.clone()]);
                joined.push(b' ');
            }
        }
        // (No run may hold a prefix: no search to set up.)
        let token_passes = if joined.is_empty() {
            &[][..]
        } else {
            &self.token_passes[..]
        };
        for (automaton, triggers) in token_passes {
            let mut si = 0;
            for m in automaton.find_iter(&joined) {
                while joined_at
                    .get(si + 1)
                    .is_some_and(|&(at, _)| at <= m.start())
                {
                    si += 1;
                }
                let Some(&(at, from)) = joined_at.get(si) else {
                    break;
                };
                let (ks, ke) = (from + m.start() - at, from + m.end() - at);
                let triggers = &triggers[m.pattern().as_usize()];
                self.add_hit(text, ks, ke, triggers, &mut windows, out);
            }
        }
        // The passes interleave: restore text order where they met.
        for (_, w) in windows.opened() {
            if !w.is_sorted_by_key(|r| r.start) {
                *w = crate::redact::union(std::mem::take(w));
            }
        }
        for (ri, ws) in windows.opened() {
            let ws = &*ws;
            let rule = &RULES[ri];
            let compiled = self.regexes[ri].get_or_init(|| {
                compile(rule)
                    .inspect_err(
                        |error| tracing::error!(%error, "cutting this rule's windows whole"),
                    )
                    .ok()
            });
            let mut push = |span: Range<usize>, at: usize| {
                if !span.is_empty() {
                    out.push(Finding::new(
                        rule.detector,
                        rule.name,
                        (at + span.start)..(at + span.end),
                        rule.confidence,
                    ));
                }
            };
            let Some(re) = compiled else {
                for w in ws {
                    push(0..w.len(), w.start);
                }
                continue;
            };
            // One set of capture slots for all of the rule's windows: a
            // `Captures` per search would allocate one each time.
            let mut locs = re.capture_locations();
            for w in ws {
                let hay = &text[w.clone()];
                if rule.extract == Extract::Whole {
                    // No capture groups needed: the DFAs alone find the
                    // match, without the slower engine that resolves groups.
                    for m in re.find_iter(hay) {
                        push(m.range(), w.start);
                    }
                    continue;
                }
                // Each search resumes where the span taken ends, not where
                // the match does: a trailing boundary byte (`hf_...[`) may
                // be the leading one of the next token (`[hf_...`), which a
                // second pass, seeing a marker before it, would match.
                let mut at = 0;
                while let Some(whole) = re.captures_read_at(&mut locs, hay, at) {
                    let span = extract(rule.extract, &locs, hay);
                    let resume = match &span {
                        Some(s) if s.end > at => s.end,
                        // A token too plain for a credential may end in
                        // `bearer`, whose own token follows the blank after
                        // it: the one place inside the match where another
                        // can start (`...-Bearer glso...3=`).
                        None if rule.extract == Extract::Bearer => {
                            whole.end().saturating_sub("bearer".len())
                        }
                        _ => whole.end(),
                    };
                    if let Some(span) = span {
                        push(span, w.start);
                    }
                    // An empty match at `at` must not stall the loop.
                    at = resume.max(at + 1);
                    if at > hay.len() {
                        break;
                    }
                }
            }
        }
    }

    /// Rules anchored on `key = value` operators: assignments and
    /// `Authorization` headers are parsed here; the provider forms with a
    /// key of their own open a small window for their regex.
    fn scan_sites(
        &self,
        text: &[u8],
        anchors: &[usize],
        windows: &mut Windows,
        out: &mut Vec<Finding>,
    ) {
        let sr = &self.anchored;
        // End of the last assignment or header value found: a site whose
        // key lies inside it is cut with it. Skipping those keeps a line of
        // many `key=value&key=value...` and no blank linear; otherwise each
        // of its sites would read a value running to the line's end.
        let mut cut_to = 0;
        // End of the line of the last window opened (past its `\n`): sites
        // come in text order, so a later one before it is on that line, and
        // its line is not searched again (a long line of `?sig=...&sig=...`
        // would make that quadratic).
        let mut line_end = 0;
        let mut runs = RunMemo::default();
        sites(text, anchors, |site| {
            if site.key_end < cut_to {
                return;
            }
            let mut window = |ri: usize, back: usize| {
                let start = extend_back(text, site.key_end.saturating_sub(back));
                let from = site.value_from.min(text.len());
                if from >= line_end {
                    line_end =
                        memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |p| from + p + 1);
                }
                windows.open(ri, start..line_end);
            };
            if may_be_named_key(text, site.key_end) {
                let key = KeySuffix::of(text, site.key_end);
                // `key = value`, the key ending with a secret's name.
                if site.gap <= 4 && is_secret_key(&key) {
                    if let Some((v, quoted)) = value(text, site.value_from, &mut runs) {
                        let next = text.get(v.end).copied();
                        let key = key_bytes(text, site.key_end);
                        if plausible_assigned_secret(key, &text[v.clone()], quoted, next) {
                            let r = &RULES[sr.assignment];
                            cut_to = cut_to.max(v.end);
                            out.push(Finding::new(r.detector, r.name, v, r.confidence));
                        }
                    }
                }
                if site.single && site.gap <= 4 && key.ends_with(b"authorization") {
                    if let Some(v) = authorization_value(text, site.value_from, &mut runs) {
                        let r = &RULES[sr.authorization];
                        cut_to = cut_to.max(v.end);
                        out.push(Finding::new(r.detector, r.name, v, r.confidence));
                    }
                }
                let eq = site.single && site.op_byte == b'=';
                let colon = site.single && site.op_byte == b':';
                let exact = |suffix: &[u8]| text[..site.key_end].ends_with(suffix);
                if eq && exact(b"_authToken") {
                    window(sr.npmrc, 10);
                }
                if eq && (key.ends_with(b"accountkey") || key.ends_with(b"sharedaccesskey")) {
                    if let Some(v) = azure_connection_key(text, site) {
                        let r = &RULES[sr.azure_connection];
                        out.push(Finding::new(r.detector, r.name, v, r.confidence));
                    }
                }
                if colon && exact(b"private_key_id") {
                    window(sr.gcp_key_id, 14);
                }
                if eq
                    && exact(b"sig")
                    && site.key_end >= 4
                    && matches!(text[site.key_end - 4], b'?' | b'&' | b';')
                {
                    window(sr.azure_sas, 4);
                }
            }
        });
    }
}

/// The key of an `AccountKey=<key>` or `SharedAccessKey=<key>` pair at an
/// `=` site whose key ends with either name, as the
/// `azure-connection-string-key` pattern reads it: blanks, no quote,
/// between the name and `=`; blanks after it; at least 20 of
/// `[A-Za-z0-9+/]` and up to two `=` of padding, on the line of the `=`.
/// Parsed here rather than by the pattern over the rest of the line: its
/// case-insensitive names and Unicode blanks made each such search cost
/// about two microseconds.
fn azure_connection_key(text: &[u8], site: &crate::assignment::Site) -> Option<Range<usize>> {
    let op = site.value_from.checked_sub(1)?;
    if !text
        .get(site.key_end..op)?
        .iter()
        .all(|&b| crate::assignment::is_space(b))
    {
        return None;
    }
    let from = site.value_from.min(text.len());
    let line_end = memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |p| from + p + 1);
    let mut i = from;
    while i < line_end {
        match crate::assignment::unicode_space_len(&text[i..line_end]) {
            0 => break,
            n => i += n,
        }
    }
    let start = i;
    while i < line_end && (text[i].is_ascii_alphanumeric() || matches!(text[i], b'+' | b'/')) {
        i += 1;
    }
    if i - start < 20 {
        return None;
    }
    let mut end = i;
    while end < line_end && end - i < 2 && text[end] == b'=' {
        end += 1;
    }
    Some(start..end)
}

impl RuleSet {
    /// Provider keys named in a longer key (`AWS_SECRET_ACCESS_KEY = ...`,
    /// `azure storage key: ...`, `TWILIO_AUTH_TOKEN=...`), anchored on the
    /// value: a token run of the key's exact shape, with the provider's name
    /// in the [`KEY_STRETCH`] before it. Their regexes then run over that
    /// stretch and the value only.
    fn shaped_values(&self, text: &[u8], run: &Run, windows: &mut Windows) {
        let Some(seg) = run.single_segment() else {
            return;
        };
        let pad = usize::from(run.pad);
        let body = seg.len() - pad;
        // The shapes first, from what the scanner summed up: most runs have
        // none of them, and need not be read again.
        let no_urlsafe = run.flags & URLSAFE == 0;
        let aws = no_urlsafe && body == 40 && pad == 0;
        let azure = no_urlsafe && body == 86 && pad == 2;
        let maybe_hex32 = run.flags & (UPPER | NONHEX | STDSYM) == 0 && seg.len() >= 32;
        let maybe_sk = run.flags & UPPER != 0 && seg.len() >= 34;
        if !(aws || azure || maybe_hex32 || maybe_sk) {
            return;
        }
        // Each of these patterns reads `<key> ["']?\s{0,4}(=|:|=>)\s{0,4}["']?<value>`:
        // a value with no operator right before it matches none of them
        // (most digests in listings and logs).
        if !may_follow_operator(run.lead()) {
            return;
        }
        let sr = &self.anchored;
        let v = &text[seg.clone()];
        let mut open = |ri: usize| {
            let start = extend_back(text, seg.start.saturating_sub(KEY_STRETCH + 12));
            let end = (seg.end + 1).min(text.len());
            windows.open(ri, start..end);
        };
        let named = |name: &[u8]| {
            let from = seg.start.saturating_sub(KEY_STRETCH + 12);
            rfind_ci(&text[from..seg.start], name).is_some()
        };
        if aws && named(b"aws") {
            open(sr.aws_secret);
        }
        if azure && named(b"azure") {
            open(sr.azure_storage);
        }
        // `[a-f0-9]{32}` or `SK[0-9a-fA-F]{32}`, then no letter or digit (a
        // `_` or `-` may follow, so the run can be longer). Boundaries first:
        // hex digests fail at byte 32.
        let boundary = |at: usize| v.get(at).is_none_or(|b| !b.is_ascii_alphanumeric());
        let hex32 = maybe_hex32
            && boundary(32)
            && v[..32]
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'a'..=b'f'));
        let sk = maybe_sk
            && v.starts_with(b"SK")
            && boundary(34)
            && v[2..34].iter().all(u8::is_ascii_hexdigit);
        if (hex32 || sk) && named(b"twilio") {
            open(sr.twilio);
        }
    }
}

impl RuleSet {
    /// The rules of [`RUN_ANCHORED`] (but Azure's) from a token run: where
    /// their keyword would be, relative to the run, is known, so the keyword
    /// is looked for there and the rule's window opened at it as a keyword
    /// hit would.
    fn run_anchored(&self, text: &[u8], run: &Run, windows: &mut Windows, out: &mut Vec<Finding>) {
        let sr = &self.anchored;
        let s = run.span.start;
        let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
        let before = |n: usize| &text[s.saturating_sub(n)..s];
        // Keyword `kw` (lower case, any case in the text) within `reach`
        // bytes before `at`: open the rule's window at its last occurrence.
        let near = |ri: usize,
                    kw: &[u8],
                    at: usize,
                    reach: usize,
                    ws: &mut Windows,
                    out: &mut Vec<Finding>| {
            let from = at.saturating_sub(reach);
            if let Some(p) = rfind_ci(&text[from..at], kw) {
                self.add_hit(text, from + p, from + p + kw.len(), &[ri], ws, out);
                true
            } else {
                false
            }
        };
        match run.lead().last().copied() {
            // SendGrid `SG.<16-32>.<30-50>`; Discord `<23-28>.<6>.<27-40>`
            // (the base64 of an id of 17 to 19 digits, unpadded, then two
            // parts).
            Some(b'.') => {
                if before(3) == b"SG." {
                    self.add_hit(text, s - 3, s, &[sr.sendgrid], windows, out);
                }
                let mid = before(8);
                if mid.len() == 8 && mid[0] == b'.' && mid[1..7].iter().all(|&b| word(b)) {
                    let first_end = s - 8;
                    let first = text[first_end.saturating_sub(28)..first_end]
                        .iter()
                        .rev()
                        .take_while(|&&b| word(b))
                        .count();
                    let t0 = first_end - first;
                    if first >= 23 && matches!(text[t0], b'M' | b'N' | b'O') {
                        // The first part of a real token is the base64 of
                        // the account's numeric id: with it, the token
                        // needs no keyword to be told apart.
                        if crate::encoded::is_base64_of_digits(&text[t0..first_end], 17) {
                            self.add_hit(text, t0, t0, &[sr.discord_bot], windows, out);
                        } else {
                            let _ = near(sr.discord_bot, b"discord", t0, 200, windows, out)
                                || near(sr.discord_bot, b"bot ", t0, 200, windows, out);
                        }
                    }
                }
            }
            // Telegram `<8-10 digits>:<35>`, keyword `:AA`, `telegram` or
            // `/bot` (at most 12 bytes after, or 200 before, its start).
            Some(b':') => {
                let digits = text[..s - 1]
                    .iter()
                    .rev()
                    .take(11)
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if (8..=10).contains(&digits) {
                    let t0 = s - 1 - digits;
                    if text[s..].starts_with(b"AA") {
                        self.add_hit(text, s - 1, s + 2, &[sr.telegram], windows, out);
                    } else {
                        let _ = near(sr.telegram, b"telegram", t0 + 12, 212, windows, out)
                            || near(sr.telegram, b"/bot", t0 + 12, 212, windows, out);
                    }
                }
            }
            _ => {}
        }
        // Mailgun `<32 hex>-<8 hex>-<8 hex>` within 160 bytes of `mailgun`.
        let hex_dashes = run.flags & (UPPER | NONHEX | STDSYM) == 0 && run.flags & URLSAFE != 0;
        if hex_dashes && run.span.len() >= 50 {
            let _ = near(sr.mailgun_private, b"mailgun", s, 160, windows, out);
        }
    }
}

/// Whether a value whose preceding bytes are `lead` (at least
/// [`crate::encoded::LEAD`] of them, fewer at the start of the text) may
/// follow an operator as the value patterns of AWS, Azure and Twilio read
/// it (`<key> ["']?\s{0,4}(=|:|=>)\s{0,4}["']?<value>`): an optional
/// quote, up to four spaces, then `=`, `:` or `>`. A byte of a multi-byte
/// character may be Unicode whitespace (`\s` is Unicode in those
/// patterns): then the answer is yes.
fn may_follow_operator(lead: &[u8]) -> bool {
    let mut rest = lead;
    if let [head @ .., b'"' | b'\''] = rest {
        rest = head;
    }
    for _ in 0..=4 {
        match rest {
            [.., b'=' | b':' | b'>'] => return true,
            [head @ .., b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c] => rest = head,
            [.., 0x80..=0xFF] => return true,
            _ => return false,
        }
    }
    false
}

/// Position of the last occurrence of `needle` (lower-case ASCII) in `hay`,
/// in any case. The haystacks are short (a key stretch before a token, at
/// most a few hundred bytes), so candidates for the first byte are found
/// sixteen at a time from the end, with no search set up per call.
fn rfind_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    use wide::u8x16;
    let &first = needle.first()?;
    let last = hay.len().checked_sub(needle.len())?;
    let matches_at = |p: usize| hay[p..p + needle.len()].eq_ignore_ascii_case(needle);
    // Folding with 0x20 maps both cases of a letter to the lower one (and a
    // few other bytes onto others: candidates only, each verified).
    let want = u8x16::splat(first | 0x20);
    // Candidate starts `lo..hi`, sixteen at a time, last ones first.
    let mut hi = last + 1;
    while hi > 0 {
        let lo = hi.saturating_sub(16);
        let q = match hay[lo..].first_chunk::<16>() {
            Some(q) => *q,
            None => {
                let mut q = [0u8; 16];
                q[..hay.len() - lo].copy_from_slice(&hay[lo..]);
                q
            }
        };
        let folded = u8x16::new(q) | u8x16::splat(0x20);
        let mut m = folded.cmp_eq(want).move_mask() as u32 & ((1u32 << (hi - lo)) - 1);
        while m != 0 {
            let top = 31 - m.leading_zeros();
            let p = lo + top as usize;
            if matches_at(p) {
                return Some(p);
            }
            m &= !(1 << top);
        }
        hi = lo;
    }
    None
}

/// How far back a provider's name may be from the end of a long key
/// (`aws[...]{0,32}?(?:secret|sk)[...]{0,24}`).
const KEY_STRETCH: usize = 72;

/// The key before `end`: identifier bytes, at most 64.
fn key_bytes(text: &[u8], end: usize) -> &[u8] {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let n = text[..end]
        .iter()
        .rev()
        .take(64)
        .take_while(|b| ident(b))
        .count();
    &text[end - n..end]
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
        windows: &mut Windows,
        out: &mut Vec<Finding>,
    ) {
        let n = text.len();
        for &ri in triggers {
            let r = &RULES[ri];
            if let Check::Pem = self.checks[ri] {
                if let Some(span) = pem_block(text, ks, ke) {
                    out.push(Finding::new(r.detector, r.name, span, r.confidence));
                }
                continue;
            }
            // A hit inside the rule's last window: its bytes were read
            // for an earlier hit, which `Dotted` need not read again.
            let read = match self.checks[ri] {
                Check::Dotted => windows
                    .last(ri)
                    .filter(|w| w.start <= ks && ke < w.end)
                    .map_or(ke, |w| w.end),
                _ => ke,
            };
            let Some(reach) = self.checks[ri].admit(text, ks, ke, r.fwd, read) else {
                continue;
            };
            let start = extend_back(text, ks.saturating_sub(r.back));
            let end = match reach {
                Some(end) => extend_fwd(text, end.min(ke.saturating_add(r.fwd)).min(n)),
                None => extend_fwd(text, ke.saturating_add(r.fwd).min(n)),
            };
            windows.open(ri, start..end);
        }
    }
}

/// Rules whose keyword is a case-sensitive literal inside a match that
/// begins with at least `MIN_ENCODED` token bytes (`[A-Za-z0-9+/_-]`),
/// keyword included (a prefix, or Mailchimp's `-us` suffix): such a keyword
/// always lies in a token run, so it is searched there rather than in the
/// whole text, which keeps the keyword automaton of the text pass small
/// enough for one SIMD (Teddy) pass.
const TOKEN_RULES: &[&str] = &[
    "aws-access-key-id",
    "google-oauth-refresh-token",
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
    "openrouter-api-key",
    "sk-hex-api-key",
    "groq-api-key",
    "xai-api-key",
    "perplexity-api-key",
    "replicate-api-token",
    "nvidia-api-key",
    "cerebras-api-key",
    "elevenlabs-api-key",
    "tavily-api-key",
    "langsmith-api-key",
    "rubygems-api-key",
    "aws-session-token",
    "digitalocean-token",
    "databricks-token",
    "supabase-secret-key",
    "shopify-token",
    "square-token",
    "postman-api-key",
    "newrelic-user-key",
    "pulumi-access-token",
    "sentry-token",
    "grafana-token",
    "onepassword-service-account-token",
    "age-secret-key",
    "mailchimp-api-key",
];

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
    /// `bearer\s+` and at least 16 token bytes.
    Bearer,
    /// `scheme://userinfo:password@`: no byte outside userinfo before `@`.
    UrlPassword,
    /// A case-sensitive literal at the hit, not preceded by a word byte,
    /// then a run of word bytes.
    Prefix(&'static [u8]),
    /// JWT: the match is a run of `[A-Za-z0-9_.-]`.
    Dotted,
    /// PEM block: matched by hand ([`pem_block`]), the pattern documents it.
    Pem,
}

impl Check {
    fn of(rule: &str) -> Check {
        match rule {
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
    /// bound known. `Some(Some(end))`: the match ends before `end`. `fwd`
    /// is how far past the hit the rule's window reaches anyway; `read`
    /// (at least `ke`) where the rule's last window, which holds the hit,
    /// ends.
    #[inline]
    fn admit(
        self,
        t: &[u8],
        ks: usize,
        ke: usize,
        fwd: usize,
        read: usize,
    ) -> Option<Option<usize>> {
        let n = t.len();
        let ws = |b: u8| b.is_ascii_whitespace() || b == 0x0b || b >= 0x80;
        match self {
            Check::None => Some(None),
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
            // Matched by hand in `add_hit`, not through a regex window.
            Check::Pem => None,
            Check::Dotted => {
                // A long dotted run of `eyJ...` parts has a hit at each, and
                // each read on to the run's end (quadratic: 250 KB took
                // 2.5 s). Now a hit inside the last window reads on from its
                // end (the window only grows, to no less than before), and
                // no further than the rule's window reaches.
                let lim = n.min(ke.saturating_add(fwd));
                let mut i = read;
                while i < lim
                    && (t[i].is_ascii_alphanumeric() || matches!(t[i], b'_' | b'-' | b'.'))
                {
                    i += 1;
                }
                Some(Some(i))
            }
        }
    }
}

/// Bytes of a PEM body: base64, whitespace, header fields (`Proc-Type:
/// 4,ENCRYPTED`, `DEK-Info: ...`).
static PEM_BODY: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(b, b'+' | b'/' | b'=' | b':' | b',' | b'.')
            || matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
        i += 1;
    }
    t
};

/// The first byte at or after `i`, before `lim`, that is not a
/// [`PEM_BODY`] byte (`lim` if none), sixteen bytes a step: a body is a
/// few kilobytes of base64 lines, and a table lookup per byte cost half of
/// what the text pass's keyword hits cost.
fn pem_body_end(t: &[u8], mut i: usize, lim: usize) -> usize {
    use crate::classify::in_range;
    use wide::u8x16;
    let eq = |x: u8x16, b: u8| x.cmp_eq(u8x16::splat(b));
    while let Some(q) = t[..lim].get(i..).and_then(|r| r.first_chunk::<16>()) {
        let x = u8x16::new(*q);
        // `+,./0-9:` less `-`, `=`, letters, and blank: ` `, `\t\n\x0b\x0c\r`.
        let body = (in_range(x, b'+', 16) & !eq(x, b'-'))
            | eq(x, b'=')
            | in_range(x | u8x16::splat(0x20), b'a', 26)
            | eq(x, b' ')
            | in_range(x, b'\t', 5);
        let other = !(body.move_mask() as u32) & 0xffff;
        if other != 0 {
            return i + other.trailing_zeros() as usize;
        }
        i += 16;
    }
    i + t[i..lim]
        .iter()
        .take_while(|&&b| PEM_BODY[b as usize])
        .count()
}

/// A private-key block through the `PRIVATE KEY` at `ks..ke`, as the
/// `pem-private-key` pattern matches it: `-----BEGIN[A-Z0-9 ]{0,32}` right
/// before, `(?: BLOCK)?-----` after; a body of base64, whitespace, header
/// fields and JSON escapes (`\n`), never `--`, at most 24 KiB; the END line
/// if it follows. By hand: the regex over a window spent ~8 ms on the
/// 700 blocks of the benchmark output, this a few hundred microseconds.
fn pem_block(t: &[u8], ks: usize, ke: usize) -> Option<Range<usize>> {
    const BEGIN: &[u8] = b"-----BEGIN";
    const END: &[u8] = b"-----END";
    let header_class = |c: &u8| matches!(c, b'A'..=b'Z' | b'0'..=b'9' | b' ');
    if t.get(ks..ke)? != b"PRIVATE KEY" {
        return None;
    }
    let from = ks.saturating_sub(BEGIN.len() + 32);
    let begin = from + memchr::memmem::rfind(&t[from..ks], BEGIN)?;
    if !t[begin + BEGIN.len()..ks].iter().all(header_class) {
        return None;
    }
    let dashes_after = |i: usize| -> Option<usize> {
        if t[i..].starts_with(b" BLOCK-----") {
            Some(i + 11)
        } else if t[i..].starts_with(b"-----") {
            Some(i + 5)
        } else {
            None
        }
    };
    let mut i = dashes_after(ke)?;
    let lim = (i + 24 * 1024).min(t.len());
    while i < lim {
        i = pem_body_end(t, i, lim);
        if i == lim {
            break;
        }
        let b = t[i];
        if PEM_BODY[b as usize] {
            i += 1;
        } else if b == b'\\' {
            let j = i + t[i..lim].iter().take_while(|&&c| c == b'\\').count();
            if j < lim && matches!(t[j], b'n' | b'r' | b'/') {
                i = j + 1;
            } else {
                break;
            }
        } else if b == b'-' && i + 1 < lim && t[i + 1].is_ascii_alphanumeric() {
            i += 2;
        } else {
            break;
        }
    }
    // `(?:-----END[A-Z0-9 ]{0,32}PRIVATE KEY(?: BLOCK)?-----)?`, the longest
    // header first as the greedy class would take it.
    if t[i..].starts_with(END) {
        let s = i + END.len();
        let class_len = t[s..]
            .iter()
            .take(32)
            .take_while(|c| header_class(c))
            .count();
        for k in (0..=class_len).rev() {
            let at = s + k;
            if t[at..].starts_with(b"PRIVATE KEY") {
                if let Some(e) = dashes_after(at + 11) {
                    return Some(begin..e);
                }
            }
        }
    }
    Some(begin..i)
}

/// A leftmost-longest automaton over `keywords`, and for each keyword the
/// rules it triggers (`triggers(rule, keyword)`).
fn keyword_pass<K: AsRef<str>>(
    keywords: &[K],
    triggers: impl Fn(&RuleDef, &str) -> bool,
) -> Result<(AhoCorasick, Vec<Vec<usize>>), RuleError> {
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(keywords.iter().map(AsRef::as_ref))?;
    let rules = keywords
        .iter()
        .map(|k| {
            (0..RULES.len())
                .filter(|&ri| triggers(&RULES[ri], k.as_ref()))
                .collect()
        })
        .collect();
    Ok((automaton, rules))
}

/// Each rule's windows. Most texts a scan sees (decoded runs, the pieces
/// of cut runs: a few hundred bytes each) open none: they then cost no
/// allocation, and the passes over the rules at the end have nothing to
/// visit.
struct Windows {
    /// Per rule of [`RULES`], once any window is opened; else empty.
    by_rule: Vec<Vec<Range<usize>>>,
}

impl Windows {
    fn new() -> Self {
        Windows {
            by_rule: Vec::new(),
        }
    }

    /// Adds `w` to rule `ri`'s windows (see [`open_window`]).
    fn open(&mut self, ri: usize, w: Range<usize>) {
        if self.by_rule.is_empty() {
            self.by_rule.resize_with(RULES.len(), Vec::new);
        }
        if let Some(ws) = self.by_rule.get_mut(ri) {
            open_window(ws, w);
        }
    }

    /// Rule `ri`'s last window.
    fn last(&self, ri: usize) -> Option<&Range<usize>> {
        self.by_rule.get(ri)?.last()
    }

    /// The rules with windows, in order, and their windows.
    fn opened(&mut self) -> impl Iterator<Item = (usize, &mut Vec<Range<usize>>)> {
        self.by_rule
            .iter_mut()
            .enumerate()
            .filter(|(_, ws)| !ws.is_empty())
    }
}

/// Adds `w` to a rule's windows, widening the last one when `w` starts
/// inside it (windows arrive in text order within each pass).
fn open_window(windows: &mut Vec<Range<usize>>, w: Range<usize>) {
    match windows.last_mut() {
        Some(last) if w.start <= last.end && w.start >= last.start => {
            last.end = last.end.max(w.end)
        }
        _ => windows.push(w),
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

fn extract(how: Extract, caps: &CaptureLocations, hay: &[u8]) -> Option<Range<usize>> {
    let group = |g: usize| caps.get(g).map(|(start, end)| start..end);
    match how {
        Extract::Whole => group(0),
        Extract::Group(g) => group(g),
        Extract::UrlPassword => {
            let host = hay.get(group(0)?.end).copied()?;
            let host_ok =
                host.is_ascii_alphanumeric() || matches!(host, b'.' | b'-' | b'[' | b']' | b'_');
            host_ok.then(|| group(1)).flatten()
        }
        Extract::Bearer => {
            let token = group(1)?;
            plausible_token(hay.get(token.clone())?).then_some(token)
        }
        Extract::Site => None,
    }
}

/// Whether a `Bearer`-style token looks like a credential rather than prose.
fn plausible_token(t: &[u8]) -> bool {
    let has_digit = t.iter().any(u8::is_ascii_digit);
    let has_alpha = t.iter().any(u8::is_ascii_alphabetic);
    has_digit && has_alpha && !t.starts_with(b"[REDACTED")
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
        let classes = crate::classify::classify(t.as_bytes());
        let mut runs = Vec::new();
        crate::encoded::runs_in(
            t.as_bytes(),
            &classes.tok,
            crate::encoded::MIN_ENCODED,
            &mut runs,
        );
        rs.scan(t.as_bytes(), &runs, &classes, &mut v);
        v
    }

    #[test]
    fn every_rule_compiles() {
        // Rules compile lazily, at their first window: a pattern that does
        // not compile would only show in a scan (as windows cut whole).
        for rule in RULES {
            if let Err(e) = compile(rule) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn shaped_values_need_an_operator_before_them() {
        let at = |t: &str| {
            let start = t.find('V').unwrap_or(t.len());
            let lead = &t.as_bytes()[start.saturating_sub(crate::encoded::LEAD)..start];
            may_follow_operator(lead)
        };
        for yes in [
            "k=V",
            "k: V",
            "k =>  'V",
            "k:\t\t\t\t\"V",
            "k=\u{a0}V",
            "k:\n   V",
        ] {
            assert!(at(yes), "{yes:?}");
        }
        for no in ["k V", "V", "k:     V", "k=\"\"V", "sha V", "k(V"] {
            assert!(!at(no), "{no:?}");
        }
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for form in [
            format!("AWS_SECRET_ACCESS_KEY = \"{secret}\""),
            format!("aws_secret_key => '{secret}'"),
            format!("aws secret:\u{a0}{secret}"),
        ] {
            let f = scan(&form);
            assert!(
                f.iter().any(|x| x.rule == "aws-secret-access-key"),
                "{form}: {f:?}"
            );
        }
    }

    #[test]
    fn rfind_ci_finds_the_last_occurrence_in_any_case() {
        let naive = |hay: &[u8], needle: &[u8]| {
            (0..=hay.len().checked_sub(needle.len())?)
                .rev()
                .find(|&p| hay[p..p + needle.len()].eq_ignore_ascii_case(needle))
        };
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"aAwWsS/\x0f bBoOtT_-";
        for n in 0..5000 {
            let len = n % 70;
            let hay = crate::testing::random_text(&mut rng, alphabet, len);
            for needle in [&b"aws"[..], b"/bot", b"bot ", b"a", b"sw"] {
                assert_eq!(
                    rfind_ci(&hay, needle),
                    naive(&hay, needle),
                    "{hay:?} {needle:?}"
                );
            }
        }
    }

    #[test]
    fn provider_prefixes_name_their_detector_and_spare_look_alikes() {
        // Keys whose body is lower-case hex, one case, or base64 of JSON:
        // the entropy judge passes those, so only their prefix tells.
        let hex = |n: usize| {
            "0123456789abcdef"
                .chars()
                .cycle()
                .skip(3)
                .step_by(7)
                .take(n)
                .collect::<String>()
        };
        let alnum = |n: usize| {
            "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zQ8"
                .chars()
                .cycle()
                .take(n)
                .collect::<String>()
        };
        let caught = [
            (format!("sk-or-v1-{}", hex(64)), "openrouter-key"),
            (format!("sk-{}", hex(32)), "ai-api-key"),
            (format!("gsk_{}", alnum(52)), "groq-key"),
            (format!("xai-{}", alnum(80)), "xai-key"),
            (format!("pplx-{}", alnum(48)), "perplexity-key"),
            (format!("r8_{}", alnum(37)), "replicate-token"),
            (format!("nvapi-{}", alnum(64)), "nvidia-key"),
            (format!("csk-{}", alnum(48)), "cerebras-key"),
            (format!("sk_{}", hex(48)), "elevenlabs-key"),
            (format!("tvly-dev-{}", alnum(32)), "tavily-key"),
            (format!("lsv2_pt_{}_{}", hex(32), hex(10)), "langsmith-key"),
            (format!("rubygems_{}", hex(48)), "rubygems-key"),
            (format!("IQoJb3JpZ2luX2VjEJr{}", alnum(300)), "aws-session-token"),
            (format!("FwoGZXIvYXdzEBY{}", alnum(200)), "aws-session-token"),
            (format!("dop_v1_{}", hex(64)), "digitalocean-token"),
            (format!("dapi{}-2", hex(32)), "databricks-token"),
            (format!("sbp_{}", hex(40)), "supabase-key"),
            (format!("sb_secret_{}", alnum(32)), "supabase-key"),
            (format!("shpat_{}", hex(32)), "shopify-token"),
            (format!("sq0csp-{}", alnum(43)), "square-token"),
            (format!("PMAK-{}-{}", hex(24), hex(34)), "postman-key"),
            ("NRAK-ABCDEFGHIJ0123456789KLMNOPQ".to_string(), "newrelic-key"),
            (format!("pul-{}", hex(40)), "pulumi-token"),
            (format!("sntryu_{}", hex(64)), "sentry-token"),
            ("sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIn0=_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ".to_string(), "sentry-token"),
            ("glc_eyJvIjoiMTIzNDU2IiwibiI6InN0YWNrLXJlYWQiLCJrIjoiYWJjZGVmIn0=".to_string(), "grafana-token"),
            (format!("glsa_{}_{}", alnum(32), hex(8)), "grafana-token"),
            ("ops_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSIsInVzZXJBdXRoIjp7fX0".to_string(), "onepassword-token"),
            ("AGE-SECRET-KEY-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54KHCE".to_string(), "age-secret-key"),
            (format!("{}-us14", hex(32)), "mailchimp-key"),
        ];
        for (secret, detector) in &caught {
            for line in [
                format!("export KEY={secret}\n"),
                format!("{{\"key\": \"{secret}\"}}"),
                format!("GET /v1/keys/{secret} 200"),
            ] {
                let f = scan(&line);
                assert!(
                    f.iter()
                        .any(|f| f.detector == *detector && line[f.span.clone()] == **secret),
                    "{detector}: {line} -> {f:?}"
                );
            }
        }
        // Look-alikes: the same prefixes inside identifiers, digests that
        // follow them, and hex ids of other lengths.
        let spared = [
            format!("task_{}", hex(64)),
            format!("disk_{}", hex(48)),
            format!("ask-{}", hex(32)),
            format!("sk-{}", hex(40)),
            format!("sk_{}", hex(64)),
            format!("pul-{}", hex(64)),
            format!("xdapi{}", hex(32)),
            format!("{}-us14", hex(40)),
            format!("{}-user", hex(32)),
            "api_v1_users_list_endpoint_handler".to_string(),
            "shp_file_reader_for_shapefiles".to_string(),
            "en-us-locale-resources-bundle".to_string(),
        ];
        for text in &spared {
            assert!(scan(text).is_empty(), "{text}: {:?}", scan(text));
        }
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
    fn tokens_sharing_a_boundary_byte_are_all_found() {
        // Fuzz case: the byte that ends one Hugging Face token is the one
        // its rule wants before the next; both must be found in one pass.
        let a = "hf_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3x";
        let b = "api_org_Zq8Wx7Vc6Bn5Ml4Kj3Hg2Fd1Sa0Pq9Wo8";
        let t = format!("{a}[{b}[{a}-key");
        let f = scan(&t);
        let spans: Vec<_> = f.iter().map(|x| &t[x.span.clone()]).collect();
        assert_eq!(spans, vec![a, b, a], "{f:?}");
    }

    #[test]
    fn fuzz_dictionary_has_every_keyword() {
        // The fuzz target's dictionary (`fuzz/filter.dict`) steers libFuzzer
        // to the rules; a rule whose keyword it lacks is fuzzed by luck.
        let dict = include_str!("../fuzz/filter.dict");
        for r in RULES {
            for k in r.keywords {
                let entry = format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""));
                assert!(
                    dict.lines().any(|l| l == entry),
                    "{}: keyword {k:?} missing from fuzz/filter.dict",
                    r.name
                );
            }
        }
    }

    #[test]
    fn one_text_automaton_with_long_enough_keywords() {
        let rs = RuleSet::new().expect("rules compile");
        assert!(rs.text_automaton.patterns_len() <= TEDDY_LIMIT);
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
    fn run_anchored_and_shaped_value_rules_name_their_detector() {
        let cases = [
            (
                "discord bot token: MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456",
                "discord-bot-token",
            ),
            // No keyword: the first part decodes to a numeric id.
            (
                "sent MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456 ok",
                "discord-bot-token",
            ),
            // An id of 17 digits: a first part of 23 characters (found by
            // the property test, with a third part of letters only).
            (
                "DISCORD_TOKEN=MzQ4OTkwMDUyMDk0ODcxNzc.efc0mp.HPHPnjbfJdNVRxPGyvUSYWJKSdtEZkPqtfXHJq",
                "discord-bot-token",
            ),
            (
                "sent MzQ4OTkwMDUyMDk0ODcxNzc.efc0mp.HPHPnjbfJdNVRxPGyvUSYWJKSdtEZkPqtfXHJq ok",
                "discord-bot-token",
            ),
            (
                "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/send",
                "telegram-bot-token",
            ),
            (
                "mailgun signing: 0123456789abcdef0123456789abcdef-01234567-89abcdef",
                "mailgun-private-key",
            ),
            (
                "key SG.abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg",
                "sendgrid-api-key",
            ),
            ("AZURE_CLIENT_SECRET=abc8Q~abcdefghijklmnopqrstuvwxyz012345", "azure-ad-client-secret"),
            (
                "refresh: 1//0gAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefgh",
                "google-oauth-refresh-token",
            ),
            (
                "AWS_SECRET_ACCESS_KEY_2 = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws-secret-access-key",
            ),
            (
                "twilio_auth_token: 0123456789abcdef0123456789abcdef",
                "twilio-auth-token",
            ),
        ];
        for (text, rule) in cases {
            let f = scan(text);
            assert!(f.iter().any(|x| x.rule == rule), "{text}: {f:?}");
        }
        // Without their keyword these shapes are not named.
        let f = scan("id: 0123456789abcdef0123456789abcdef-01234567-89abcdef");
        assert!(f.iter().all(|x| x.rule != "mailgun-private-key"), "{f:?}");
    }

    #[test]
    fn azure_connection_keys_are_read_as_the_pattern_reads_them() {
        let rule = &RULES[rule_index("azure-connection-string-key").unwrap()];
        // The pattern, anchored at the key's name.
        let re = regex::bytes::Regex::new(&format!("^(?:{})", rule.pattern)).unwrap();
        const PARTS: &[&str] = &[
            "AccountKey",
            "accountkey",
            "SharedAccessKey",
            "SHAREDACCESSKEY",
            " ",
            "\t",
            "\n",
            "\u{a0}",
            "\u{2003}",
            "\"",
            "=",
            "==",
            "===",
            ";",
            "+/",
            "abcXYZ0123456789",
            "QUJD",
            "\u{e9}",
            "x",
        ];
        let mut state = 0x1234_5678_9ABC_DEF1u64;
        let mut next = || crate::testing::xorshift(&mut state) as usize;
        let mut found = 0;
        for _ in 0..20_000 {
            let mut t = String::from(PARTS[next() % 4]);
            for _ in 0..next() % 12 {
                t.push_str(PARTS[next() % PARTS.len()]);
            }
            let text = t.as_bytes();
            crate::assignment::sites(text, &(0..text.len()).collect::<Vec<_>>(), |site| {
                let key = KeySuffix::of(text, site.key_end);
                let named = [&b"accountkey"[..], b"sharedaccesskey"]
                    .into_iter()
                    .find(|n| key.ends_with(n));
                let (Some(name), true) = (named, site.single && site.op_byte == b'=') else {
                    return;
                };
                let line_end = memchr::memchr(b'\n', &text[site.value_from..])
                    .map_or(text.len(), |p| site.value_from + p + 1);
                let from = site.key_end - name.len();
                let want = re
                    .captures(&text[from..line_end])
                    .and_then(|c| c.get(1))
                    .map(|m| from + m.start()..from + m.end());
                found += usize::from(want.is_some());
                assert_eq!(azure_connection_key(text, site), want, "{t:?}");
            });
        }
        assert!(found > 100, "only {found} keys in the sample");
    }

    #[test]
    fn pem_body_end_agrees_with_the_byte_table() {
        // Mostly body bytes, with every other byte now and then.
        const BODY: &[u8] = b"AZaz09+/=:,. \t\n\r\x0b\x0cQmx";
        let mut state = 0x5EED_u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize
        };
        for _ in 0..20_000 {
            let len = next() % 80;
            let t: Vec<u8> = (0..len)
                .map(|_| match next() % 40 {
                    0 => (next() % 256) as u8,
                    _ => BODY[next() % BODY.len()],
                })
                .collect();
            let i = next() % (len + 1);
            let lim = i + next() % (len - i + 1);
            let want = i + t[i..lim]
                .iter()
                .take_while(|&&b| PEM_BODY[b as usize])
                .count();
            assert_eq!(pem_body_end(&t, i, lim), want, "{t:?} {i} {lim}");
        }
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

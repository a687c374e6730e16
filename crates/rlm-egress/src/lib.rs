//! # rlm-egress
//!
//! The leak filter on everything that leaves an rlm sandbox for a model
//! provider. It has no async runtime and no I/O of its own: text goes in,
//! filtered text and structured findings come out.
//!
//! ## Principal types and how they compose
//!
//! * [`EgressFilter`] is the filter. Build one with
//!   [`EgressFilter::builder`] (mode, output cap, echo limit, entropy
//!   override, protected context), share it between threads (it is
//!   `Send + Sync`), and call [`EgressFilter::apply`] on each output. It
//!   returns [`Filtered`] (redacted text, [`Finding`]s, truncation flag,
//!   context bytes released) or, in [`Mode::Block`], the [`Blocked`] error.
//!   [`EgressFilter::scan`] only reports.
//! * [`ContextIndex`] indexes the protected context (the document the model
//!   reasons about, which the sandbox may read but must not dump). Any
//!   verbatim run of it longer than `max_context_echo` bytes, anywhere in an
//!   output and also inside base64/hex, is found. Build it once per session
//!   and hand it to every filter with
//!   [`EgressFilterBuilder::context_index`].
//! * [`DisclosureBudget`] caps the context released over a whole session:
//!   pass it to [`EgressFilter::apply_with_budget`] for every output.
//! * [`StreamFilter`] (from [`EgressFilter::stream`]) filters chunked input
//!   with bounded memory; secrets split across chunks are still caught.
//!   [`StreamFilter::take_findings`] hands over the findings as they come,
//!   so an endless, leaky stream needs no more memory than a short one.
//! * [`EgressFilter::scan_secrets`] / [`EgressFilter::apply_secrets`] run the
//!   secret detectors only, without context echo: for prompts of sub-calls,
//!   which legitimately carry context but never secrets.
//!
//! ## Detectors
//!
//! | detector | what |
//! | --- | --- |
//! | provider rules | AWS, GCP, Azure, GitHub, GitLab, Slack, Discord, Telegram, Stripe, OpenAI, Anthropic, Hugging Face, OpenRouter, Groq, xAI and other model providers, npm, PyPI, RubyGems, SendGrid, Twilio, Mailgun, Mailchimp, DigitalOcean, Databricks, Supabase, Shopify, Sentry, Grafana and more, AWS session tokens, age keys, JWTs, private-key blocks, URLs with passwords, `password = ...` assignments, `Authorization` headers; each rule anchored where it can only match (token runs, operators, a dozen rare keywords), its regex run only there |
//! | `high-entropy` | a token as random as a random string of its alphabet and length would be; UUIDs, digests and identifiers pass |
//! | encoded | base64, base64url, hex and percent-encoded runs decoded and rescanned, two levels deep by default |
//! | `context-echo` | verbatim runs of the protected context over the limit |
//! | `binary-output` | file signatures and control bytes |
//!
//! Findings carry the detector, rule, byte span and confidence, never the
//! secret: they are safe to log.
#![doc = include_str!("../README.md")]

mod assignment;
mod binary;
mod budget;
mod classify;
mod context;
mod encoded;
mod entropy;
mod error;
mod filter;
mod finding;
mod prefetch;
mod redact;
mod rules;
mod stream;

pub use budget::DisclosureBudget;
pub use context::ContextIndex;
pub use error::{Blocked, BuildError};
pub use filter::{
    EgressFilter, EgressFilterBuilder, Filtered, Mode, DEFAULT_MAX_CONTEXT_ECHO,
    DEFAULT_MAX_DECODE_DEPTH, DEFAULT_MAX_OUTPUT_BYTES,
};
pub use finding::{Confidence, Encoding, Finding};
pub use stream::{StreamEnd, StreamFilter, HOLD};

/// Names of the rule-based detectors (the part after `REDACTED:` in markers),
/// besides `high-entropy`, `context-echo` and `binary-output`.
pub fn rule_detectors() -> Vec<&'static str> {
    rules::detector_names()
}

#[cfg(test)]
mod testing;

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn filter_and_index_are_shareable() {
        assert_send_sync::<crate::EgressFilter>();
        assert_send_sync::<crate::ContextIndex>();
        assert_send_sync::<crate::DisclosureBudget>();
    }
}

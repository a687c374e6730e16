//! # rlm-orchestrator
//!
//! The Recursive Language Model loop: a root model writes Python that runs in
//! an `rlm-runtime` sandbox, calls sub-models and child sessions through host
//! calls, and answers with `FINAL`. Every output that leaves for a provider
//! passes `rlm-egress`; every call reserves from `rlm-budget` first and goes
//! through an `rlm-circuit` breaker.
//!
//! Principal types:
//!
//! * [`provider::LlmProvider`] — the async model interface, with
//!   [`provider::OpenAiProvider`], [`provider::AnthropicProvider`] and
//!   [`provider::ReplayProvider`].

pub mod provider;
pub mod record;

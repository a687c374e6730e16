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
//! * [`Orchestrator`] — built with [`Orchestrator::builder`] from an
//!   rlm-config [`Config`](rlm_config::Config), a provider and a sandbox
//!   factory; [`Orchestrator::run`] takes a [`RunRequest`] (query,
//!   [`ContextInput`], [`Recorder`](record::Recorder), optional
//!   [`Approver`] and progress callback) and returns a [`RunReport`]: the
//!   answer or a [`RunError`] (with its [`exit`] code), and the
//!   [`BudgetReport`](rlm_budget::BudgetReport).
//! * [`provider::LlmProvider`] — the async model interface, with
//!   [`provider::OpenAiProvider`], [`provider::AnthropicProvider`] and
//!   [`provider::ReplayProvider`]; [`provider::build_provider`] picks one
//!   from the configuration or `--llm replay:FILE`.
//! * [`repl::ReplFactory`] / [`repl::Repl`] — the execution port;
//!   [`sandbox::RuntimeRepls`] implements it over rlm-runtime.
//! * [`record::Trajectory`], [`record::AuditLog`] and
//!   [`record::verify_audit_log`] — the run's records.
//! * [`parse::parse_reply`] — code blocks and bare `FINAL` lines of a reply.

mod calls;
mod error;
mod helpers;
mod orchestrator;
pub mod parse;
pub mod prompt;
pub mod provider;
pub mod record;
pub mod repl;
pub mod sandbox;
mod session;

pub use error::{exit, RunError};
pub use orchestrator::{
    Approver, ContextInput, Orchestrator, OrchestratorBuilder, Progress, ProgressFn, RunReport,
    RunRequest, Settings,
};

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

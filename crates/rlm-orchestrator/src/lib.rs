//! # rlm-orchestrator
//!
//! The Recursive Language Model loop: a root model writes Python that runs in
//! an `rlm-runtime` sandbox, calls sub-models and child sessions through host
//! calls, and answers with `FINAL`. Every output that leaves for a provider
//! passes `rlm-egress`; every call reserves from `rlm-budget` first and goes
//! through an `rlm-circuit` breaker.
//!
//! This crate is being built under its own issue; until then it exports
//! nothing.

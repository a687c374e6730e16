//! # rlm-circuit
//!
//! Circuit breakers (closed, open, half-open, forced-open, disabled) and a
//! retry helper with jittered backoff, for model providers, the Docker daemon
//! and the filesystem.
//!
//! This crate is being built under its own issue; until then it exports
//! nothing.

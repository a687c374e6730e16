//! # rlm-egress
//!
//! The leak filter on everything that leaves an rlm sandbox for a model
//! provider: provider-specific secret rules behind a keyword prefilter,
//! per-token entropy, decoding of base64/hex/percent-encoded runs, echo of the
//! protected context, a per-session disclosure budget and binary detection.
//!
//! This crate is being built under its own issue; until then it exports
//! nothing, so nothing can mistake it for a working filter.

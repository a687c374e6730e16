//! # rlm-runtime
//!
//! The isolation layer: hardened Docker sessions (gVisor first) holding a
//! persistent Python REPL, the context handle inside the sandbox, and the
//! narrow framed channel for host calls.

//! # rlm-budget
//!
//! Spend limits for recursive LLM sessions: a pricing table, exact money in
//! integer micro-dollars, and reservations of a call's worst case before the
//! call is made, settled or released after it.
//!
//! This crate is being built under its own issue; until then it exports
//! nothing.

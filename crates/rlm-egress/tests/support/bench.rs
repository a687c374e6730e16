//! The filter the speed and memory examples measure: redact mode, no output
//! cap, and the benchmark's 2 MB protected context (seed 11) behind an echo
//! limit of 64 bytes. Include it next to `corpus.rs`, as `mod bench`.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::Arc;

use rlm_egress::{BuildError, ContextIndex, EgressFilter};

use crate::corpus;

/// The protected context, and the filter over it.
pub fn context_and_filter() -> Result<(String, EgressFilter), BuildError> {
    let context = corpus::context_document(&mut corpus::Rng::new(11), 2 * 1024 * 1024);
    let index = Arc::new(ContextIndex::new(context.clone().into_bytes(), 64));
    let filter = EgressFilter::builder()
        .max_output_bytes(None)
        .context_index(index)
        .build()?;
    Ok((context, filter))
}

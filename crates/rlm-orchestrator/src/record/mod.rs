//! What a run leaves behind: the trajectory log ([`Trajectory`], JSONL,
//! also the form `--record` saves and the replay provider reads) and the
//! tamper-evident audit log ([`AuditLog`], hash-chained, checked by
//! [`verify_audit_log`]). [`Recorder`] feeds both from one call site.

mod audit;
mod canonical;
mod event;
mod recorder;
mod trajectory;

pub use audit::{verify_audit_log, AuditError, AuditLog, AuditVerdict, GENESIS_HASH};
pub use canonical::canonical_json;
pub use event::Event;
pub use recorder::Recorder;
pub use trajectory::Trajectory;

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be opened or written.
    #[error("cannot write the {what} {}: {source}; check the path (RLM_TRAJECTORY_PATH, RLM_AUDIT_PATH, --record)", .path.display())]
    Io {
        /// Which record.
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

//! One place every event goes through: the trajectory, the `--record`
//! copy, the audit log, and a tracing event.

use std::sync::Arc;

use super::{AuditLog, Event, RecordError, Trajectory};

/// Fans events out to the configured records. Cheap to clone; sessions of
/// one run share it. A write failure is logged and the run goes on: losing
/// a record must not lose the user's answer — except that
/// [`Recorder::first_error`] lets the caller report it at the end.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    sinks: Arc<Sinks>,
}

#[derive(Debug, Default)]
struct Sinks {
    trajectories: Vec<Trajectory>,
    audit: Option<AuditLog>,
    failed: std::sync::Mutex<Option<String>>,
}

impl Recorder {
    /// A recorder that only traces.
    pub fn none() -> Recorder {
        Recorder::default()
    }

    /// A recorder writing to these files.
    pub fn new(trajectories: Vec<Trajectory>, audit: Option<AuditLog>) -> Recorder {
        Recorder {
            sinks: Arc::new(Sinks {
                trajectories,
                audit,
                failed: Default::default(),
            }),
        }
    }

    /// Records one event everywhere.
    pub fn record(&self, event: &Event) {
        tracing::debug!(event = event.name(), "record");
        for t in &self.sinks.trajectories {
            if let Err(e) = t.append(event) {
                self.failed(e);
            }
        }
        if let Some(a) = &self.sinks.audit {
            if let Err(e) = a.append(event) {
                self.failed(e);
            }
        }
    }

    fn failed(&self, e: RecordError) {
        tracing::error!(error = %e, "record write failed");
        let mut f = self.sinks.failed.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(e.to_string());
        }
    }

    /// The first write failure, if any.
    pub fn first_error(&self) -> Option<String> {
        self.sinks
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

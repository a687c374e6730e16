//! The trajectory log: one JSON object per line, appended and flushed as
//! the run goes, so a crashed run still leaves what it did.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use super::{now_ms, Event, RecordError};

/// A JSONL trajectory file.
#[derive(Debug)]
pub struct Trajectory {
    path: PathBuf,
    file: Mutex<BufWriter<File>>,
}

impl Trajectory {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Trajectory, RecordError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|source| RecordError::Io {
                what: "trajectory",
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Trajectory {
            path: path.to_path_buf(),
            file: Mutex::new(BufWriter::new(file)),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event with its timestamp.
    pub fn append(&self, event: &Event) -> Result<(), RecordError> {
        let mut v = serde_json::to_value(event).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            map.insert("ts_ms".into(), Value::from(now_ms()));
        }
        let line = v.to_string();
        let io = |source| RecordError::Io {
            what: "trajectory",
            path: self.path.clone(),
            source,
        };
        // A poisoned lock only means another writer panicked mid-line;
        // keep recording.
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.flush().map_err(io)
    }
}

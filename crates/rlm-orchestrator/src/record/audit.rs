//! The audit log: JSONL entries chained by SHA-256. Each entry carries the
//! previous entry's hash (`prev`) and its own (`hash`, over the canonical
//! JSON of the entry without `hash`), so editing, inserting, deleting or
//! reordering any line breaks the chain at that line.
//!
//! A chain cannot show that lines were cut from its end; the last entry of
//! a finished run is `run_end`, so a log that stops earlier was cut or its
//! run died.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{canonical_json, now_ms, Event, RecordError};

/// The `prev` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A hash-chained audit log being written.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    state: Mutex<Chain>,
}

#[derive(Debug)]
struct Chain {
    file: BufWriter<File>,
    seq: u64,
    prev: String,
}

fn entry_hash(entry: &Map<String, Value>) -> String {
    let mut without = entry.clone();
    without.remove("hash");
    hex::encode(Sha256::digest(
        canonical_json(&Value::Object(without)).as_bytes(),
    ))
}

impl AuditLog {
    /// Creates (truncates) the log.
    pub fn create(path: &Path) -> Result<AuditLog, RecordError> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|source| RecordError::Io {
                what: "audit log",
                path: path.to_path_buf(),
                source,
            })?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            state: Mutex::new(Chain {
                file: BufWriter::new(file),
                seq: 0,
                prev: GENESIS_HASH.to_string(),
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event as a chained entry.
    pub fn append(&self, event: &Event) -> Result<(), RecordError> {
        let body = serde_json::to_value(event).unwrap_or(Value::Null);
        let mut chain = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut entry = Map::new();
        entry.insert("seq".into(), Value::from(chain.seq));
        entry.insert("ts_ms".into(), Value::from(now_ms()));
        entry.insert("kind".into(), Value::from(event.name()));
        entry.insert("body".into(), body);
        entry.insert("prev".into(), Value::from(chain.prev.clone()));
        let hash = entry_hash(&entry);
        entry.insert("hash".into(), Value::from(hash.clone()));
        let line = canonical_json(&Value::Object(entry));
        let io = |source| RecordError::Io {
            what: "audit log",
            path: self.path.clone(),
            source,
        };
        chain.file.write_all(line.as_bytes()).map_err(io)?;
        chain.file.write_all(b"\n").map_err(io)?;
        chain.file.flush().map_err(io)?;
        chain.seq += 1;
        chain.prev = hash;
        Ok(())
    }
}

/// The result of checking an audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every entry chains to the one before.
    Intact {
        /// Entries checked.
        entries: u64,
    },
    /// The chain breaks.
    Tampered {
        /// The first bad line (from 1).
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why an audit log could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be read.
    #[error("cannot read the audit log {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Checks an audit log's chain, naming the first bad line.
pub fn verify_audit_log(path: &Path) -> Result<AuditVerdict, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_lines(BufReader::new(file)).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn verify_lines(reader: impl BufRead) -> Result<AuditVerdict, std::io::Error> {
    let mut prev = GENESIS_HASH.to_string();
    let mut seq: u64 = 0;
    for (n, line) in reader.split(b'\n').enumerate() {
        let line_no = n as u64 + 1;
        let bytes = line?;
        let tampered = |reason: String| {
            Ok(AuditVerdict::Tampered {
                line: line_no,
                reason,
            })
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return tampered("not UTF-8".into());
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.is_empty() {
            return tampered("empty line inside the chain".into());
        }
        let entry: Map<String, Value> = match serde_json::from_str(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return tampered("not a JSON object".into()),
            Err(e) => return tampered(format!("not JSON: {e}")),
        };
        match entry.get("seq").and_then(Value::as_u64) {
            Some(s) if s == seq => {}
            Some(s) => {
                return tampered(format!(
                    "sequence number {s}, expected {seq} (a line was removed or inserted)"
                ))
            }
            None => return tampered("no sequence number".into()),
        }
        match entry.get("prev").and_then(Value::as_str) {
            Some(p) if p == prev => {}
            Some(_) => return tampered("prev does not match the hash of the line before".into()),
            None => return tampered("no prev hash".into()),
        }
        let Some(stated) = entry.get("hash").and_then(Value::as_str) else {
            return tampered("no hash".into());
        };
        let actual = entry_hash(&entry);
        if stated != actual {
            return tampered("content does not match its hash (the line was edited)".into());
        }
        prev = actual;
        seq += 1;
    }
    Ok(AuditVerdict::Intact { entries: seq })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_log(dir: &Path) -> PathBuf {
        let path = dir.join("audit.jsonl");
        let log = AuditLog::create(&path).unwrap();
        for i in 0..4 {
            log.append(&Event::HostCall {
                session: "root".into(),
                name: "llm_query".into(),
                detail: format!("prompt {i}"),
            })
            .unwrap();
        }
        path
    }

    #[test]
    fn intact_log_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path());
        assert_eq!(
            verify_audit_log(&path).unwrap(),
            AuditVerdict::Intact { entries: 4 }
        );
    }

    #[test]
    fn edits_deletions_and_reorders_are_caught_at_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let edited = text.replacen("prompt 2", "prompt X", 1);
        std::fs::write(&path, edited).unwrap();
        assert!(matches!(
            verify_audit_log(&path).unwrap(),
            AuditVerdict::Tampered { line: 3, .. }
        ));

        let deleted = [lines[0], lines[2], lines[3]].join("\n");
        std::fs::write(&path, deleted).unwrap();
        assert!(matches!(
            verify_audit_log(&path).unwrap(),
            AuditVerdict::Tampered { line: 2, .. }
        ));

        let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n");
        std::fs::write(&path, swapped).unwrap();
        assert!(matches!(
            verify_audit_log(&path).unwrap(),
            AuditVerdict::Tampered { line: 2, .. }
        ));

        std::fs::write(&path, format!("{}\nnot json\n", lines[0])).unwrap();
        assert!(matches!(
            verify_audit_log(&path).unwrap(),
            AuditVerdict::Tampered { line: 2, .. }
        ));
    }

    #[test]
    fn rehashing_one_line_still_breaks_the_next() {
        // An attacker who recomputes the edited line's hash breaks the
        // following line's prev instead.
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let mut entry: Map<String, Value> = serde_json::from_str(&lines[1]).unwrap();
        entry.insert("body".into(), Value::from("forged"));
        let h = entry_hash(&entry);
        entry.insert("hash".into(), Value::from(h));
        lines[1] = canonical_json(&Value::Object(entry));
        std::fs::write(&path, lines.join("\n")).unwrap();
        assert!(matches!(
            verify_audit_log(&path).unwrap(),
            AuditVerdict::Tampered { line: 3, .. }
        ));
    }

    #[test]
    fn missing_file_is_io() {
        assert!(verify_audit_log(Path::new("/nonexistent/audit.jsonl")).is_err());
    }
}

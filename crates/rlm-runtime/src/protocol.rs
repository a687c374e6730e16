//! The framed, versioned protocol between host and agent.
//!
//! A frame is 8 ASCII hex digits giving the payload length, then that many
//! bytes of JSON: an object with `"v": 1` and a `"type"`. The header is
//! text, not binary, because Docker scans attached stdin for its detach
//! keys (ctrl-p ctrl-q): JSON and hex digits never contain control bytes.
//!
//! Everything decoded here comes from the sandbox and is hostile: every
//! check fails with [`RuntimeError::Protocol`], never a panic.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::RuntimeError;

/// The protocol version in every frame.
pub const PROTOCOL_VERSION: u64 = 1;
/// Length of the frame header.
pub(crate) const HEADER_LEN: usize = 8;

/// A message from the agent.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum AgentMsg {
    /// First frame: the agent is up.
    Hello {
        kernel: String,
        python: String,
        #[serde(default)]
        pid: Option<i64>,
        #[serde(default)]
        uid: Option<i64>,
    },
    /// The REPL namespace is set up (or `error` says why not).
    Ready {
        #[serde(default)]
        error: Option<String>,
    },
    /// A cell finished.
    Result(CellResult),
    /// Sandbox code calls a host function.
    Call { id: u64, name: String, args: Value },
}

/// The agent's report of one cell.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct CellResult {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) stdout: String,
    #[serde(default)]
    pub(crate) stderr: String,
    #[serde(default)]
    pub(crate) stdout_truncated: bool,
    #[serde(default)]
    pub(crate) stderr_truncated: bool,
    #[serde(default)]
    pub(crate) exception: Option<WireException>,
    #[serde(default)]
    pub(crate) exit_code: Option<i64>,
    #[serde(default)]
    pub(crate) duration_ms: f64,
}

/// An exception as the agent reports it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct WireException {
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) traceback: String,
}

/// A message to the agent.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum HostMsg<'a> {
    Init {
        denied_imports: &'a [String],
        max_capture_bytes: u64,
        context_path: Option<&'a str>,
        host_functions: Vec<String>,
    },
    Exec {
        id: u64,
        code: &'a str,
    },
    Interrupt {
        id: u64,
    },
    CallResult {
        id: u64,
        ok: bool,
        value: Value,
        error: Option<String>,
    },
}

/// Encodes one frame to the agent.
pub(crate) fn encode(msg: &HostMsg<'_>) -> Result<Vec<u8>, RuntimeError> {
    let mut v = serde_json::to_value(msg)
        .map_err(|e| RuntimeError::protocol(format!("cannot encode a frame: {e}")))?;
    if let Value::Object(m) = &mut v {
        m.insert("v".to_string(), Value::from(PROTOCOL_VERSION));
    }
    let body = serde_json::to_vec(&v)
        .map_err(|e| RuntimeError::protocol(format!("cannot encode a frame: {e}")))?;
    let mut out = format!("{:08x}", body.len()).into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

/// Incremental decoder of agent frames with a size cap.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    buf: Vec<u8>,
    max_frame: usize,
}

impl FrameDecoder {
    pub(crate) fn new(max_frame: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max_frame,
        }
    }

    /// Adds bytes from the stream.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet decoded.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    /// The buffer never holds more than one header plus `max_frame` bytes
    /// of a frame whose header has been validated.
    pub(crate) fn next(&mut self) -> Result<Option<AgentMsg>, RuntimeError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let header = &self.buf[..HEADER_LEN];
        if !header.iter().all(|b| b.is_ascii_hexdigit()) {
            return Err(RuntimeError::protocol(format!(
                "bad frame header {:?}",
                String::from_utf8_lossy(header)
            )));
        }
        let len = std::str::from_utf8(header)
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| RuntimeError::protocol("bad frame header"))?;
        if len > self.max_frame {
            return Err(RuntimeError::protocol(format!(
                "frame of {len} bytes exceeds the {} byte cap",
                self.max_frame
            )));
        }
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let body: Vec<u8> = self
            .buf
            .drain(..HEADER_LEN + len)
            .skip(HEADER_LEN)
            .collect();
        decode_body(&body).map(Some)
    }
}

/// Decodes and validates one frame body.
pub(crate) fn decode_body(body: &[u8]) -> Result<AgentMsg, RuntimeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| RuntimeError::protocol(format!("frame is not JSON: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(RuntimeError::protocol("frame is not a JSON object"));
    };
    match map.get("v").and_then(Value::as_u64) {
        Some(PROTOCOL_VERSION) => {}
        other => {
            return Err(RuntimeError::protocol(format!(
                "unsupported protocol version {other:?} (expected {PROTOCOL_VERSION})"
            )))
        }
    }
    let kind = map
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("<none>")
        .chars()
        .take(64)
        .collect::<String>();
    serde_json::from_value(value)
        .map_err(|e| RuntimeError::protocol(format!("bad frame of type {kind:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        let mut f = format!("{:08x}", body.len()).into_bytes();
        f.extend_from_slice(body.as_bytes());
        f
    }

    #[test]
    fn decodes_split_frames() {
        let f = frame(r#"{"v":1,"type":"ready","error":null}"#);
        let mut d = FrameDecoder::new(1024);
        for b in &f {
            assert!(d.next().expect("ok").is_none());
            d.push(std::slice::from_ref(b));
        }
        assert_eq!(d.next().expect("ok"), Some(AgentMsg::Ready { error: None }));
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn hostile_frames_are_errors() {
        let cases: Vec<Vec<u8>> = vec![
            b"\xff\xff\xff\xff\xff\xff\xff\xff".to_vec(),
            b"garbage!".to_vec(),
            b"ffffffff".to_vec(),
            frame("not json"),
            frame("[1,2]"),
            frame(r#"{"v":2,"type":"ready"}"#),
            frame(r#"{"type":"ready"}"#),
            frame(r#"{"v":1,"type":"teleport"}"#),
            frame(r#"{"v":1,"type":"call","id":"x"}"#),
        ];
        for c in cases {
            let mut d = FrameDecoder::new(1 << 20);
            d.push(&c);
            assert!(
                matches!(d.next(), Err(RuntimeError::Protocol { .. })),
                "{:?}",
                String::from_utf8_lossy(&c)
            );
        }
    }

    #[test]
    fn encodes_with_version() {
        let f = encode(&HostMsg::Interrupt { id: 7 }).expect("encode");
        let body: Value = serde_json::from_slice(&f[8..]).expect("json");
        assert_eq!(body["v"], 1);
        assert_eq!(body["type"], "interrupt");
        assert_eq!(
            usize::from_str_radix(std::str::from_utf8(&f[..8]).expect("utf8"), 16).expect("hex"),
            f.len() - 8
        );
    }
}

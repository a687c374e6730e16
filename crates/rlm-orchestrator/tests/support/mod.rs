//! Test support: a real HTTP server on loopback speaking the OpenAI chat
//! API with a scripted model, an inert REPL for runs that need no code,
//! and the Docker-or-skip rule.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::print_stderr,
    missing_docs
)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rlm_config::{Config, Secret};
use rlm_orchestrator::provider::{LlmProvider, OpenAiProvider};
use rlm_orchestrator::repl::{CellOutput, Repl, ReplError, ReplFactory, ReplSpec};
use rlm_orchestrator::sandbox::RuntimeRepls;
use serde_json::{json, Value};

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
}

impl Reply {
    /// A 200 chat completion with `text` and fixed usage.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::text_usage(text, 1000, 100)
    }
    pub fn text_usage(text: impl Into<String>, input: u64, output: u64) -> Reply {
        Reply {
            status: 200,
            body: json!({
                "id": "x", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text.into()}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}
            }),
            headers: vec![],
            delay: Duration::ZERO,
        }
    }
    /// An error status with a JSON body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: json!({"error": {"message": format!("scripted {status}")}}),
            headers: vec![],
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

/// The script: the request body and its arrival number (from 0).
pub type Script = Arc<dyn Fn(&Value, usize) -> Reply + Send + Sync>;

/// What the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Value,
    pub raw: String,
    pub authorization: Option<String>,
}

pub struct MockServer {
    pub base_url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    pub async fn start(script: Script) -> MockServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let rec = Arc::clone(&received);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let rec = Arc::clone(&rec);
                let script = Arc::clone(&script);
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let rec = Arc::clone(&rec);
                        let script = Arc::clone(&script);
                        async move {
                            let authorization = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .map(String::from);
                            let bytes = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let raw = String::from_utf8_lossy(&bytes).to_string();
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let n = {
                                let mut r = rec.lock().unwrap();
                                r.push(Received {
                                    body: body.clone(),
                                    raw,
                                    authorization,
                                });
                                r.len() - 1
                            };
                            let reply = script(&body, n);
                            if !reply.delay.is_zero() {
                                tokio::time::sleep(reply.delay).await;
                            }
                            let mut resp = Response::builder()
                                .status(reply.status)
                                .header("content-type", "application/json");
                            for (k, v) in &reply.headers {
                                resp = resp.header(k.as_str(), v.as_str());
                            }
                            Ok::<_, Infallible>(
                                resp.body(Full::new(Bytes::from(reply.body.to_string())))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        MockServer {
            base_url: format!("http://{addr}/v1"),
            received,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn provider(&self) -> Arc<dyn LlmProvider> {
        Arc::new(
            OpenAiProvider::new(
                Some(&self.base_url),
                Secret::new("sk-test-key-0123456789"),
                Duration::from_secs(30),
                0,
            )
            .unwrap(),
        )
    }
}

/// Whether a request is a sub-call (one user message, no system prompt).
pub fn is_sub(body: &Value) -> bool {
    body["messages"]
        .as_array()
        .is_some_and(|m| m.len() == 1 && m[0]["role"] == "user")
}

/// The last user message.
pub fn last_user(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|x| x["role"] == "user"))
        .and_then(|x| x["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The question of a root session (from its first user message).
pub fn question(body: &Value) -> String {
    let first = body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["role"] == "user"))
        .and_then(|x| x["content"].as_str())
        .unwrap_or_default();
    first
        .split("The question: ")
        .nth(1)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Turns of a root conversation so far (assistant messages).
pub fn turn(body: &Value) -> usize {
    body["messages"]
        .as_array()
        .map_or(0, |m| m.iter().filter(|x| x["role"] == "assistant").count())
}

/// A fenced repl block.
pub fn repl(code: &str) -> String {
    format!("Let me run this.\n```repl\n{code}\n```")
}

/// The default configuration with test-friendly limits.
pub fn config() -> Config {
    let mut c = Config::defaults().unwrap();
    c.budget.max_wall_time = rlm_config::Span(Duration::from_secs(300));
    c
}

/// A REPL that runs nothing (for runs answered by a bare FINAL line).
#[derive(Debug, Default)]
pub struct InertRepls;

struct Inert;

impl Repl for Inert {
    fn exec<'a>(&'a mut self, _code: &'a str) -> BoxFuture<'a, Result<CellOutput, ReplError>> {
        Box::pin(async {
            Ok(CellOutput {
                stdout: "inert".into(),
                ..CellOutput::default()
            })
        })
    }
    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl ReplFactory for InertRepls {
    fn start(&self, _spec: ReplSpec) -> BoxFuture<'_, Result<Box<dyn Repl>, ReplError>> {
        Box::pin(async { Ok(Box::new(Inert) as Box<dyn Repl>) })
    }
}

/// The Docker sandbox, or `None` (with a note) when the engine is
/// unreachable — except under CI=true, where that is a failure.
pub async fn docker(config: &Config) -> Option<Arc<dyn ReplFactory>> {
    match RuntimeRepls::from_config(config).await {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and the Docker sandbox is unavailable: {e}");
            }
            eprintln!("SKIPPED: the Docker sandbox is unavailable ({e})");
            None
        }
    }
}

//! Host functions that sandbox code may call (`llm_query`, `FINAL`, …).
//!
//! The caller provides a [`HostCalls`] at session start. Each name it
//! lists becomes a function in the REPL namespace; calling it sends a
//! `call` frame and blocks the sandbox code until the host replies. The
//! arguments arrive as `{"args": [...], "kwargs": {...}}`; for a function
//! named `FINAL_VAR` the agent adds `"value"`: the named variable's value
//! (JSON if it can be, else `str()`), since the host cannot see the REPL.
//! An `Err(message)` is raised in the sandbox as `HostCallError(message)`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

/// The host side of sandbox-to-host calls.
#[async_trait::async_trait]
pub trait HostCalls: Send + Sync {
    /// The function names injected into the REPL namespace.
    fn names(&self) -> Vec<String>;
    /// Serves one call. `args` is `{"args": [...], "kwargs": {...}}`.
    async fn call(&self, name: &str, args: Value) -> Result<Value, String>;
}

/// No host functions at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHostCalls;

#[async_trait::async_trait]
impl HostCalls for NoHostCalls {
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
    async fn call(&self, name: &str, _args: Value) -> Result<Value, String> {
        Err(format!("no host function named {name}"))
    }
}

type Handler =
    Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> + Send + Sync>;

/// A [`HostCalls`] built from closures, one per name.
///
/// ```
/// use rlm_runtime::HostCallRegistry;
/// use serde_json::json;
///
/// let mut calls = HostCallRegistry::new();
/// calls.register("add", |args| async move {
///     let a = args["args"][0].as_i64().ok_or("add(a, b): a must be an int")?;
///     let b = args["args"][1].as_i64().ok_or("add(a, b): b must be an int")?;
///     Ok(json!(a + b))
/// }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct HostCallRegistry {
    handlers: BTreeMap<String, Handler>,
}

impl std::fmt::Debug for HostCallRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCallRegistry")
            .field("names", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HostCallRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` (a Python identifier not starting with `_`, and not
    /// `context`) served by `handler`. Replaces an earlier handler.
    pub fn register<F, Fut>(&mut self, name: &str, handler: F) -> Result<&mut Self, String>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 64
            && !matches!(name, "context" | "HostCallError");
        if !valid {
            return Err(format!(
                "host function name {name:?} must be an ASCII identifier starting with a letter (not `context`)"
            ));
        }
        let h: Handler = Arc::new(move |v| Box::pin(handler(v)));
        self.handlers.insert(name.to_string(), h);
        Ok(self)
    }
}

#[async_trait::async_trait]
impl HostCalls for HostCallRegistry {
    fn names(&self) -> Vec<String> {
        self.handlers.keys().cloned().collect()
    }

    async fn call(&self, name: &str, args: Value) -> Result<Value, String> {
        match self.handlers.get(name) {
            Some(h) => h(args).await,
            None => Err(format!("no host function named {name}")),
        }
    }
}

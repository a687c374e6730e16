//! Anthropic messages: `POST {base}/v1/messages`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use rlm_config::Secret;
use serde_json::{json, Value};

use super::http::{join, Endpoint};
use super::{Completion, CompletionRequest, LlmProvider, ProviderError, Role, TokenUsage};

/// Anthropic's own endpoint, used when no base URL is configured.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The API version header value.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A messages-API provider.
#[derive(Debug)]
pub struct AnthropicProvider {
    endpoint: Endpoint,
}

impl AnthropicProvider {
    /// A provider at `base_url` (`None`: Anthropic's). A base ending in
    /// `/v1` is accepted as well as the bare host.
    pub fn new(
        base_url: Option<&str>,
        key: Secret,
        timeout: Duration,
        requests_per_minute: u32,
    ) -> Result<AnthropicProvider, ProviderError> {
        let base = base_url.unwrap_or(ANTHROPIC_BASE_URL).trim_end_matches('/');
        let url = if base.ends_with("/v1") {
            join(base, "messages")
        } else {
            join(base, "v1/messages")
        };
        Ok(AnthropicProvider {
            endpoint: Endpoint::new(url, key, timeout, requests_per_minute)?,
        })
    }

    fn body(request: &CompletionRequest) -> Value {
        // System messages go to the top-level `system` field; the API
        // refuses them inside `messages`.
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let messages: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        });
        if !system.is_empty() {
            body["system"] = Value::String(system.join("\n\n"));
        }
        body
    }
}

/// Reads a messages reply: the text blocks joined, usage with cache reads
/// counted as input.
pub(crate) fn parse_reply(
    provider: &str,
    v: &Value,
    requested: &str,
) -> Result<Completion, ProviderError> {
    let content = v.get("content").and_then(Value::as_array).ok_or_else(|| {
        ProviderError::InvalidResponse {
            provider: provider.to_string(),
            detail: "no content array".to_string(),
        }
    })?;
    let text: String = content
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("");
    let usage = v.get("usage");
    let num = |k: &str| {
        usage
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let cached = num("cache_read_input_tokens");
    Ok(Completion {
        text,
        usage: TokenUsage {
            input_tokens: num("input_tokens") + cached + num("cache_creation_input_tokens"),
            output_tokens: num("output_tokens"),
            cached_input_tokens: cached,
        },
        model: v
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(requested)
            .to_string(),
    })
}

impl LlmProvider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn complete<'a>(
        &'a self,
        request: &'a CompletionRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let builder = self
                .endpoint
                .post()
                .header("x-api-key", self.endpoint.key.expose())
                .header("anthropic-version", ANTHROPIC_VERSION)
                .json(&Self::body(request));
            let v = self.endpoint.send(self.name(), builder).await?;
            parse_reply(self.name(), &v, &request.model)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CallKey, CallKind, Message};

    #[test]
    fn system_moves_to_top_level() {
        let req = CompletionRequest {
            model: "claude-3-5-haiku".into(),
            messages: vec![Message::system("be brief"), Message::user("hi")],
            max_tokens: 10,
            kind: CallKind::Root,
            key: CallKey {
                session: "root".into(),
                index: 0,
            },
        };
        let b = AnthropicProvider::body(&req);
        assert_eq!(b["system"], "be brief");
        assert_eq!(b["messages"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn parses_text_blocks_and_usage() {
        let v = json!({"model": "claude-x", "content": [
            {"type": "text", "text": "a"}, {"type": "tool_use"}, {"type": "text", "text": "b"}],
            "usage": {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 10}});
        let c = parse_reply("anthropic", &v, "m").unwrap();
        assert_eq!(c.text, "ab");
        assert_eq!(c.usage.input_tokens, 15);
        assert_eq!(c.usage.cached_input_tokens, 10);
        assert!(parse_reply("anthropic", &json!({"x": 1}), "m").is_err());
    }
}

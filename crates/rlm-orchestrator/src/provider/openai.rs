//! OpenAI-compatible chat completions: OpenAI itself, vLLM, Ollama,
//! llama.cpp's server, OpenRouter and anything else that speaks
//! `POST {base}/chat/completions`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use rlm_config::Secret;
use serde_json::{json, Value};

use super::http::{join, Endpoint};
use super::{Completion, CompletionRequest, LlmProvider, ProviderError, TokenUsage};

/// OpenAI's own endpoint, used when no base URL is configured.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// A chat-completions provider.
#[derive(Debug)]
pub struct OpenAiProvider {
    endpoint: Endpoint,
}

impl OpenAiProvider {
    /// A provider at `base_url` (e.g. `http://localhost:11434/v1`; `None`:
    /// OpenAI's). An empty key sends no `Authorization` header, as local
    /// servers expect.
    pub fn new(
        base_url: Option<&str>,
        key: Secret,
        timeout: Duration,
        requests_per_minute: u32,
    ) -> Result<OpenAiProvider, ProviderError> {
        let base = base_url.unwrap_or(OPENAI_BASE_URL);
        Ok(OpenAiProvider {
            endpoint: Endpoint::new(
                join(base, "chat/completions"),
                key,
                timeout,
                requests_per_minute,
            )?,
        })
    }

    fn body(request: &CompletionRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        json!({
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
        })
    }
}

/// Reads a chat-completions reply.
pub(crate) fn parse_reply(
    provider: &str,
    v: &Value,
    requested: &str,
) -> Result<Completion, ProviderError> {
    let bad = |detail: &str| ProviderError::InvalidResponse {
        provider: provider.to_string(),
        detail: detail.to_string(),
    };
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| bad("no choices"))?;
    let message = choice
        .get("message")
        .ok_or_else(|| bad("choice without message"))?;
    // A null content (refusal, tool call) is an empty reply, not an error:
    // the loop tells the model it wrote no code.
    let text = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => message
            .get("refusal")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Some(_) => return Err(bad("message content is not text")),
    };
    let usage = v.get("usage");
    let num = |k: &str| {
        usage
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let cached = usage
        .and_then(|u| u.get("prompt_tokens_details"))
        .and_then(|d| d.get("cached_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(Completion {
        text,
        usage: TokenUsage {
            input_tokens: num("prompt_tokens"),
            output_tokens: num("completion_tokens"),
            cached_input_tokens: cached,
        },
        model: v
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(requested)
            .to_string(),
    })
}

impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        "openai"
    }

    fn complete<'a>(
        &'a self,
        request: &'a CompletionRequest,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let mut builder = self.endpoint.post().json(&Self::body(request));
            if !self.endpoint.key.is_empty() {
                builder = builder.bearer_auth(self.endpoint.key.expose());
            }
            let v = self.endpoint.send(self.name(), builder).await?;
            parse_reply(self.name(), &v, &request.model)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_usage_and_text() {
        let v = json!({
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"message": {"role": "assistant", "content": "hi"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3,
                      "prompt_tokens_details": {"cached_tokens": 4}}
        });
        let c = parse_reply("openai", &v, "gpt-4o-mini").unwrap();
        assert_eq!(c.text, "hi");
        assert_eq!(
            c.usage,
            TokenUsage {
                input_tokens: 12,
                output_tokens: 3,
                cached_input_tokens: 4
            }
        );
        assert_eq!(c.model, "gpt-4o-mini-2024-07-18");
    }

    #[test]
    fn tolerates_missing_usage_and_null_content() {
        let v = json!({"choices": [{"message": {"content": null}}]});
        let c = parse_reply("openai", &v, "m").unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.usage, TokenUsage::default());
        assert_eq!(c.model, "m");
    }

    #[test]
    fn refuses_wrong_shapes() {
        for v in [
            json!({}),
            json!({"choices": []}),
            json!({"choices": [{"message": {"content": 3}}]}),
        ] {
            let e = parse_reply("openai", &v, "m").unwrap_err();
            assert!(!e.is_transient());
        }
    }
}

//! Building a provider from rlm-config's `[provider]` section or the
//! `--llm` flag.

use std::path::PathBuf;
use std::sync::Arc;

use rlm_config::{ApiProvider, ProviderConfig};

use super::{AnthropicProvider, LlmProvider, OpenAiProvider, ProviderError, ReplayProvider};

/// Which provider a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmChoice {
    /// The configured one (`RLM_API_PROVIDER` …).
    Configured,
    /// `replay:FILE`: the replies of a recorded run.
    Replay(PathBuf),
}

impl LlmChoice {
    /// Parses the `--llm` value: `replay:FILE` (or `config` for the
    /// configured provider).
    pub fn parse(text: &str) -> Result<LlmChoice, ProviderError> {
        let t = text.trim();
        if let Some(path) = t.strip_prefix("replay:") {
            if path.is_empty() {
                return Err(ProviderError::Config(
                    "--llm replay: needs a file, e.g. replay:run.jsonl".into(),
                ));
            }
            return Ok(LlmChoice::Replay(PathBuf::from(path)));
        }
        if t == "config" || t.is_empty() {
            return Ok(LlmChoice::Configured);
        }
        Err(ProviderError::Config(format!(
            "--llm {t:?}: expected replay:FILE or config (choose the provider with RLM_API_PROVIDER)"
        )))
    }
}

/// Builds the provider for `choice`.
pub fn build_provider(
    choice: &LlmChoice,
    cfg: &ProviderConfig,
) -> Result<Arc<dyn LlmProvider>, ProviderError> {
    let timeout = cfg.request_timeout.get();
    let rpm = cfg.requests_per_minute;
    match choice {
        LlmChoice::Replay(path) => Ok(Arc::new(ReplayProvider::from_file(path)?)),
        LlmChoice::Configured => match cfg.api_provider {
            ApiProvider::Openai => {
                // Local servers (Ollama, vLLM) take no key; OpenAI's own
                // endpoint always needs one.
                if cfg.api_base_url.is_none() && cfg.api_key.is_empty() {
                    return Err(ProviderError::Config(
                        "RLM_API_KEY is not set (needed for api.openai.com); set it, point \
                         RLM_API_BASE_URL at a local server, or use --llm replay:FILE"
                            .into(),
                    ));
                }
                Ok(Arc::new(OpenAiProvider::new(
                    cfg.api_base_url.as_deref(),
                    cfg.api_key.clone(),
                    timeout,
                    rpm,
                )?))
            }
            ApiProvider::Anthropic => {
                if cfg.api_key.is_empty() && cfg.api_base_url.is_none() {
                    return Err(ProviderError::Config(
                        "RLM_API_KEY is not set (needed for Anthropic); set it or use --llm replay:FILE".into(),
                    ));
                }
                Ok(Arc::new(AnthropicProvider::new(
                    cfg.api_base_url.as_deref(),
                    cfg.api_key.clone(),
                    timeout,
                    rpm,
                )?))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_llm_flag() {
        assert_eq!(
            LlmChoice::parse("replay:a.jsonl").unwrap(),
            LlmChoice::Replay("a.jsonl".into())
        );
        assert_eq!(LlmChoice::parse("config").unwrap(), LlmChoice::Configured);
        assert!(LlmChoice::parse("replay:").is_err());
        assert!(LlmChoice::parse("gpt").is_err());
    }

    #[test]
    fn missing_key_is_refused_for_hosted_apis() {
        let cfg = rlm_config::Config::defaults().unwrap().provider;
        let e = build_provider(&LlmChoice::Configured, &cfg).unwrap_err();
        assert!(e.to_string().contains("RLM_API_KEY"));
    }
}

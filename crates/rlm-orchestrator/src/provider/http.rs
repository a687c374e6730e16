//! The HTTP plumbing both wire protocols share: the client with its
//! timeout, sending a JSON body, and turning statuses and transport
//! failures into classified [`ProviderError`]s.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use rlm_config::Secret;

use super::error::ProviderError;
use super::rate_limit::RateLimiter;

/// Longest part of an error body quoted in a message.
const BODY_EXCERPT: usize = 300;

/// What every HTTP provider holds: the client, the endpoint, the key, the
/// timeout and the rate limiter. Its `Debug` shows the key masked only.
pub(crate) struct Endpoint {
    client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) key: Secret,
    timeout: Duration,
    limiter: Option<RateLimiter>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Endpoint {
    pub(crate) fn new(
        url: String,
        key: Secret,
        timeout: Duration,
        requests_per_minute: u32,
    ) -> Result<Endpoint, ProviderError> {
        Ok(Endpoint {
            client: client(timeout)?,
            url,
            key,
            timeout,
            limiter: RateLimiter::per_minute(requests_per_minute),
        })
    }

    /// A POST to the endpoint, to be given headers and a body.
    pub(crate) fn post(&self) -> reqwest::RequestBuilder {
        self.client.post(&self.url)
    }

    /// Waits for the rate limiter, then sends and reads the JSON reply.
    pub(crate) async fn send(
        &self,
        provider: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, ProviderError> {
        if let Some(l) = &self.limiter {
            l.acquire().await;
        }
        send_json(provider, &self.url, request, self.timeout, &self.key).await
    }
}

/// A client with the request timeout. Redirects are off: a provider that
/// redirects a POST with a key in its headers is not followed.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Sends a prepared request and returns the JSON body of a 2xx reply.
pub(crate) async fn send_json(
    provider: &str,
    url: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
    key: &Secret,
) -> Result<serde_json::Value, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(provider, url, timeout, &e, key))?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport_error(provider, url, timeout, &e, key))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| ProviderError::InvalidResponse {
            provider: provider.to_string(),
            detail: format!("body is not JSON: {e}"),
        });
    }
    let body = excerpt(&bytes, key);
    let code = status.as_u16();
    let retry_after = retry_after(&headers);
    Err(match code {
        429 => ProviderError::RateLimited {
            provider: provider.to_string(),
            retry_after,
        },
        401 | 403 => ProviderError::Auth {
            provider: provider.to_string(),
            status: code,
        },
        // 408 (request timeout) and 5xx (529: Anthropic overloaded) are the
        // server's trouble, not the request's.
        408 | 500..=599 => ProviderError::Server {
            provider: provider.to_string(),
            status: code,
            body,
            retry_after,
        },
        _ => ProviderError::Request {
            provider: provider.to_string(),
            status: code,
            body,
        },
    })
}

fn transport_error(
    provider: &str,
    url: &str,
    timeout: Duration,
    e: &reqwest::Error,
    key: &Secret,
) -> ProviderError {
    if e.is_timeout() {
        return ProviderError::Timeout {
            provider: provider.to_string(),
            after: timeout,
        };
    }
    // Everything else below HTTP (refused, reset, DNS, TLS, a body cut off)
    // is worth another try.
    ProviderError::Connect {
        provider: provider.to_string(),
        url: url.to_string(),
        detail: scrub(&error_chain(e), key),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The start of a body as text, without the key.
fn excerpt(bytes: &[u8], key: &Secret) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut cut: String = text.chars().take(BODY_EXCERPT).collect();
    if text.chars().count() > BODY_EXCERPT {
        cut.push('…');
    }
    scrub(&cut, key)
}

/// Removes the key from text that may echo it (some servers quote the key
/// they refused).
pub(crate) fn scrub(text: &str, key: &Secret) -> String {
    let k = key.expose();
    if k.len() >= 4 && text.contains(k) {
        text.replace(k, "[REDACTED]")
    } else {
        text.to_string()
    }
}

/// `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Joins a base URL and a path with exactly one slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("junk"));
        assert_eq!(retry_after(&h), None);
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    }

    #[test]
    fn scrub_removes_key() {
        let key = Secret::new("sk-verysecret123");
        assert_eq!(
            scrub("Incorrect API key provided: sk-verysecret123.", &key),
            "Incorrect API key provided: [REDACTED]."
        );
        assert_eq!(excerpt(b"bad sk-verysecret123", &key), "bad [REDACTED]");
    }

    #[test]
    fn join_slashes() {
        assert_eq!(
            join("http://h/v1/", "/chat/completions"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            join("http://h/v1", "chat/completions"),
            "http://h/v1/chat/completions"
        );
    }
}

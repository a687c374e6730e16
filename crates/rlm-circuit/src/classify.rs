//! What an outcome means to a breaker: success, a transient failure that
//! counts towards tripping, or a permanent error that never does.
//!
//! The caller decides: only it knows its error type. [`Classify`] is
//! implemented for closures, and [`http_status_class`] / [`io_error_class`]
//! cover the common cases.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The class of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Timeouts, 429, 5xx, connection errors: the dependency is unhealthy
    /// or overloaded, and a later attempt may succeed.
    Transient,
    /// A bad request, an auth error, other 4xx: the dependency answered,
    /// and retrying the same call will not help. Never trips a breaker.
    Permanent,
}

/// The outcome of one call, as recorded on a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call succeeded (it may still count as a failure if slow).
    Success,
    /// A transient failure.
    Transient,
    /// A permanent error: neither success nor failure for the breaker.
    Permanent,
}

impl From<ErrorClass> for Outcome {
    fn from(c: ErrorClass) -> Outcome {
        match c {
            ErrorClass::Transient => Outcome::Transient,
            ErrorClass::Permanent => Outcome::Permanent,
        }
    }
}

/// Classifies a caller's error type.
pub trait Classify<E: ?Sized> {
    /// Whether the error is transient or permanent.
    fn classify(&self, error: &E) -> ErrorClass;

    /// How long the dependency asked to wait (an HTTP `Retry-After`), if it
    /// did. The retry helper never retries sooner.
    fn retry_after(&self, _error: &E) -> Option<Duration> {
        None
    }
}

impl<E: ?Sized, F: Fn(&E) -> ErrorClass> Classify<E> for F {
    fn classify(&self, error: &E) -> ErrorClass {
        self(error)
    }
}

/// A classifier from two closures: the class, and the `Retry-After`.
#[derive(Debug, Clone, Copy)]
pub struct WithRetryAfter<C, R>(pub C, pub R);

impl<E: ?Sized, C: Fn(&E) -> ErrorClass, R: Fn(&E) -> Option<Duration>> Classify<E>
    for WithRetryAfter<C, R>
{
    fn classify(&self, error: &E) -> ErrorClass {
        (self.0)(error)
    }
    fn retry_after(&self, error: &E) -> Option<Duration> {
        (self.1)(error)
    }
}

/// The class of an HTTP status: `None` for success (1xx–3xx); 408, 425,
/// 429 and 5xx are transient; other 4xx are permanent.
pub fn http_status_class(status: u16) -> Option<ErrorClass> {
    match status {
        0..=399 => None,
        408 | 425 | 429 => Some(ErrorClass::Transient),
        400..=499 => Some(ErrorClass::Permanent),
        _ => Some(ErrorClass::Transient),
    }
}

/// The class of an I/O error: timeouts, refused/reset/aborted connections,
/// interruptions and broken pipes are transient; the rest (not found,
/// permission denied, invalid input) are permanent.
pub fn io_error_class(e: &std::io::Error) -> ErrorClass {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut
        | K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::BrokenPipe
        | K::Interrupted
        | K::WouldBlock
        | K::UnexpectedEof
        | K::AddrInUse
        | K::AddrNotAvailable => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// Parses an HTTP `Retry-After` given in seconds (`"120"`). HTTP dates are
/// not parsed: without a calendar library they are returned as `None`, and
/// the backoff alone decides.
pub fn parse_retry_after_secs(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(http_status_class(200), None);
        assert_eq!(http_status_class(429), Some(ErrorClass::Transient));
        assert_eq!(http_status_class(503), Some(ErrorClass::Transient));
        assert_eq!(http_status_class(400), Some(ErrorClass::Permanent));
        assert_eq!(http_status_class(401), Some(ErrorClass::Permanent));
        assert_eq!(http_status_class(408), Some(ErrorClass::Transient));
    }

    #[test]
    fn io_errors() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            io_error_class(&Error::from(ErrorKind::TimedOut)),
            ErrorClass::Transient
        );
        assert_eq!(
            io_error_class(&Error::from(ErrorKind::NotFound)),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn retry_after() {
        assert_eq!(
            parse_retry_after_secs(" 12 "),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            parse_retry_after_secs("1.5"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after_secs("Wed, 21 Oct 2015 07:28:00 GMT"),
            None
        );
        assert_eq!(parse_retry_after_secs("-1"), None);
    }
}

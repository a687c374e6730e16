//! A per-provider request rate limit: an async token bucket.

use std::time::Duration;

use tokio::sync::Mutex;
// Tokio's clock (the system's, unless a test pauses it).
use tokio::time::Instant;

/// Requests per minute, smoothed by a token bucket: up to `burst` requests
/// at once, refilled at `rpm / 60` per second. Waiters queue fairly on the
/// async mutex, so a batch cannot starve a root turn for long.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `rpm` requests per minute; `None` when `rpm` is 0 (unlimited). The
    /// burst is a quarter of a minute's allowance (at least one): enough
    /// for a batch to start together, not a whole minute at once.
    pub fn per_minute(rpm: u32) -> Option<RateLimiter> {
        if rpm == 0 {
            return None;
        }
        Some(RateLimiter::new(rpm, (rpm / 4).max(1)))
    }

    /// `rpm` per minute with a bucket of `burst` requests.
    pub fn new(rpm: u32, burst: u32) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            per_second: f64::from(rpm.max(1)) / 60.0,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let mut bucket = self.state.lock().await;
        loop {
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.last).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
            bucket.last = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return;
            }
            let wait = (1.0 - bucket.tokens) / self.per_second;
            tracing::debug!(
                wait_ms = (wait * 1000.0) as u64,
                "rate limit: waiting for a request slot"
            );
            // Holding the lock while sleeping keeps the queue in order: the
            // next waiter gets the next token.
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // On a paused clock, so that a loaded machine cannot change the timing.
    #[tokio::test(start_paused = true)]
    async fn burst_then_paced() {
        // 600 rpm = 10/s, burst 2: two immediate, the third 100 ms later.
        let rl = RateLimiter::new(600, 2);
        let t = Instant::now();
        rl.acquire().await;
        rl.acquire().await;
        assert_eq!(t.elapsed(), Duration::ZERO);
        rl.acquire().await;
        let e = t.elapsed();
        assert!(e >= Duration::from_millis(100), "{e:?}");
        assert!(e < Duration::from_millis(101), "{e:?}");
    }

    #[test]
    fn zero_is_unlimited() {
        assert!(RateLimiter::per_minute(0).is_none());
    }
}

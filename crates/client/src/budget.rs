//! A token bucket that keeps this client under the hub's rate limit (200 ops in a burst,
//! 50 ops/s sustained), so a long outbox flush is paced instead of being refused.

use std::time::Duration;

use tokio::time::Instant;

/// Sustained ops per second this client allows itself.
const RATE: f64 = 40.0;
/// Burst this client allows itself.
const BURST: f64 = 150.0;

/// Ops this client may still send right now.
#[derive(Debug)]
pub(crate) struct OpBudget {
    tokens: f64,
    at: Instant,
}

impl OpBudget {
    pub(crate) fn new(now: Instant) -> OpBudget {
        OpBudget { tokens: BURST, at: now }
    }

    fn refill(&mut self, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * RATE;
        self.tokens = (self.tokens + gained).min(BURST);
        self.at = now;
    }

    /// Takes one op if available.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next op will be available.
    pub(crate) fn next_at(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        self.at + Duration::from_secs_f64(missing / RATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_sustained_rate() {
        let t0 = Instant::now();
        let mut b = OpBudget::new(t0);
        let burst = (0..1000).take_while(|_| b.take(t0)).count();
        assert_eq!(burst, 150, "a burst stays well under the hub's 200");
        assert!(!b.take(t0));
        let one_second = t0 + Duration::from_secs(1);
        let more = (0..1000).take_while(|_| b.take(one_second)).count();
        assert_eq!(more, 40, "then 40 ops/s, under the hub's 50");
        assert!(b.next_at() > one_second);
    }
}

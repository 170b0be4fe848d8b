//! Per-session rate limit. The protocol promises 200 ops in a burst and 50 ops/s sustained, and
//! refuses anything beyond 500 ops in one second. A bucket of 300 refilled at 100/s keeps both
//! promises with room to spare (at most 400 ops pass in any second) for a client that already
//! spent part of its burst. A flood ends the session.

use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{Quota, RateLimiter};

/// Rejections within [`FLOOD_WINDOW`] after which the client is closed with 4008.
const FLOOD_REJECTIONS: u32 = 1000;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);

/// One clock for every limiter: making a clock calibrates it (CPUID and a TSC calibration),
/// which cost ~1.5 % of the hub's CPU in a reconnection storm when done per connection.
static CLOCK: LazyLock<DefaultClock> = LazyLock::new(DefaultClock::default);

/// What the limiter says about one op.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Answer `rate_limited`; an op would be accepted again after this many ms.
    Limited { retry_after_ms: u64 },
    /// The client kept flooding: close with 4008.
    Flooding,
}

/// Token bucket plus flood detection for one session.
pub struct OpLimiter {
    bucket: governor::DefaultDirectRateLimiter,
    window_start: Instant,
    rejected: u32,
}

impl OpLimiter {
    /// The protocol's limits.
    pub fn new() -> OpLimiter {
        let quota = Quota::per_second(NonZeroU32::new(100).expect("non-zero"))
            .allow_burst(NonZeroU32::new(300).expect("non-zero"));
        OpLimiter { bucket: RateLimiter::direct_with_clock(quota, CLOCK.clone()), window_start: Instant::now(), rejected: 0 }
    }

    /// Counts one op.
    pub fn check(&mut self) -> Verdict {
        match self.bucket.check() {
            Ok(()) => Verdict::Allow,
            Err(not_until) => {
                let now = Instant::now();
                if now.duration_since(self.window_start) > FLOOD_WINDOW {
                    self.window_start = now;
                    self.rejected = 0;
                }
                self.rejected += 1;
                if self.rejected > FLOOD_REJECTIONS {
                    return Verdict::Flooding;
                }
                let wait = not_until.wait_time_from(CLOCK.now());
                Verdict::Limited { retry_after_ms: (wait.as_millis() as u64).max(1) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_of_300_passes_then_limits_then_closes_a_flood() {
        let mut limiter = OpLimiter::new();
        for i in 0..300 {
            assert_eq!(limiter.check(), Verdict::Allow, "op {i} of the burst");
        }
        assert!(matches!(limiter.check(), Verdict::Limited { retry_after_ms } if retry_after_ms <= 10));
        let mut verdicts = (0..2000).map(|_| limiter.check());
        assert!(verdicts.any(|v| v == Verdict::Flooding), "a flood must end the session");
    }
}

//! Exponential backoff with full jitter, and the interruptible wait the supervisor uses.
//!
//! Attempt `n` (1-based) waits a uniformly random time in `[0, min(cap, start · 2^(n-1))]`
//! ("full jitter"): thousands of clients that lost the hub at the same moment spread their
//! reconnects instead of arriving together. There is no attempt limit: a desktop app keeps
//! trying for as long as it runs.

use std::time::Duration;

use rand::Rng as _;
use tokio::sync::Notify;

/// The first ceiling.
pub const START: Duration = Duration::from_millis(500);
/// The largest ceiling.
pub const CAP: Duration = Duration::from_secs(30);

/// Backoff state: how many attempts have failed in a row.
#[derive(Debug, Clone)]
pub struct Backoff {
    start: Duration,
    cap: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(START, CAP)
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The delay passed.
    Elapsed,
    /// Someone asked to retry now (the UI's Retry button, network up, wake from sleep).
    Woken,
}

impl Backoff {
    /// A backoff starting at `start`, never waiting longer than `cap`.
    pub fn new(start: Duration, cap: Duration) -> Backoff {
        Backoff { start, cap, attempt: 0 }
    }

    /// The attempt the next delay is for (1-based), 0 before the first failure.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Forget past failures (after a connection succeeded).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The upper bound of the delay before attempt `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.start.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// The delay for attempt `attempt` given a uniform sample `unit` in `[0, 1]`: pure, so the
    /// tests can check the bounds without randomness.
    pub fn delay_for(&self, attempt: u32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Counts one more failure and returns the (random) delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.delay_for(self.attempt, rand::thread_rng().gen_range(0.0..=1.0))
    }

    /// Waits `delay` (tokio time, so paused-time tests run instantly) unless `wake` is notified.
    pub async fn wait(delay: Duration, wake: &Notify) -> WaitEnd {
        tokio::select! {
            () = tokio::time::sleep(delay) => WaitEnd::Elapsed,
            () = wake.notified() => WaitEnd::Woken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn ceilings_double_from_half_a_second_up_to_thirty() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (1..=9).map(|n| b.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(b.ceiling(10_000), CAP, "a long outage must not overflow, only cap");
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let b = Backoff::default();
        assert_eq!(b.delay_for(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay_for(3, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay_for(3, 0.25), Duration::from_millis(500));
        let mut b = Backoff::default();
        for n in 1..=50 {
            let d = b.next_delay();
            assert_eq!(b.attempt(), n, "each failure counts");
            assert!(d <= b.ceiling(n), "attempt {n}: {d:?} above its ceiling");
        }
        b.reset();
        assert_eq!(b.attempt(), 0, "a success resets the count");
    }

    #[tokio::test(start_paused = true)]
    async fn wait_takes_exactly_the_delay_in_tokio_time() {
        let wake = Notify::new();
        let t0 = tokio::time::Instant::now();
        assert_eq!(Backoff::wait(Duration::from_secs(30), &wake).await, WaitEnd::Elapsed);
        assert_eq!(t0.elapsed(), Duration::from_secs(30), "paused time advances exactly by the delay");
    }

    #[tokio::test(start_paused = true)]
    async fn reconnect_now_cuts_the_wait_short() {
        let wake = Arc::new(Notify::new());
        let waker = wake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            waker.notify_one();
        });
        let t0 = tokio::time::Instant::now();
        assert_eq!(Backoff::wait(Duration::from_secs(30), &wake).await, WaitEnd::Woken);
        assert_eq!(t0.elapsed(), Duration::from_secs(3), "woken after 3 s, not after the full 30 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_outage_schedule_stays_under_the_caps() {
        // Ten consecutive failures: total waiting is bounded by the sum of the ceilings.
        let mut b = Backoff::default();
        let wake = Notify::new();
        let t0 = tokio::time::Instant::now();
        let mut bound = Duration::ZERO;
        for n in 1..=10 {
            let d = b.next_delay();
            bound += b.ceiling(n);
            Backoff::wait(d, &wake).await;
        }
        assert!(t0.elapsed() <= bound, "{:?} > {bound:?}", t0.elapsed());
        assert_eq!(bound, Duration::from_millis(500 + 1000 + 2000 + 4000 + 8000 + 16000 + 4 * 30000));
    }
}

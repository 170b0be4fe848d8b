//! The engine's wall clock, for what is decided by the time of day (quiet hours).
//!
//! [`Clock::system`] reads the system's time at every look, so a laptop waking from sleep or a
//! corrected clock is seen at the next look. [`Clock::starting_at`] starts at a given instant and
//! advances with tokio's clock: with tokio's paused time, a test decides what time it is and
//! jumps through a night in milliseconds.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

/// Where the engine reads the time of day.
#[derive(Debug, Clone)]
pub struct Clock {
    origin: Option<(Timestamp, Instant)>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock { origin: None }
    }

    /// A clock that reads `start` now and advances with tokio's clock (`tokio::time::pause`,
    /// `advance` and auto-advance move it). Create it inside the runtime whose time it follows.
    pub fn starting_at(start: Timestamp) -> Clock {
        Clock { origin: Some((start, Instant::now())) }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        match self.origin {
            None => Timestamp::now(),
            Some((start, at)) => {
                let elapsed = SignedDuration::try_from(at.elapsed()).unwrap_or(SignedDuration::MAX);
                start.checked_add(elapsed).unwrap_or(Timestamp::MAX)
            }
        }
    }

    /// How long tokio should sleep until `at` (zero when it has passed).
    pub(crate) fn until(&self, at: Timestamp) -> Duration {
        Duration::try_from(self.now().duration_until(at)).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_started_clock_follows_tokio_time() {
        let start: Timestamp = "2026-03-28T21:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        assert_eq!(clock.now(), start);
        tokio::time::sleep(Duration::from_secs(8 * 3600)).await;
        assert_eq!(clock.now(), "2026-03-29T05:00:00Z".parse::<Timestamp>().unwrap(), "eight paused hours later");
        assert_eq!(clock.until(start), Duration::ZERO, "the past is due now");
    }
}

//! When the engine falls back to HTTP long polling, and when it leaves it (1.1 §4).
//!
//! The WebSocket is the transport. The engine switches to polling after
//! [`FAILURES_BEFORE_FALLBACK`] WebSocket attempts in a row failed to connect, or at once when
//! an upgrade is answered with an HTTP error (what a proxy that refuses WebSockets does).
//! While polling, the WebSocket is probed on a backoff of its own ([`PROBE_START`] …
//! [`PROBE_CAP`], full jitter); the first probe that gets through ends the polled connection
//! and the session is resumed over that socket. If polling fails too (the network is down, not
//! just the WebSocket), the next attempt is the WebSocket again, so that whichever comes back
//! first is used.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::event::Transport;

/// WebSocket connects that fail in a row before the engine polls instead.
pub const FAILURES_BEFORE_FALLBACK: u32 = 3;
/// The first ceiling of the probe backoff.
pub const PROBE_START: Duration = Duration::from_secs(5);
/// The largest ceiling of the probe backoff.
pub const PROBE_CAP: Duration = Duration::from_secs(5 * 60);

/// The supervisor's choice of transport.
#[derive(Debug)]
pub(crate) struct Fallback {
    failures: u32,
    polling: bool,
    /// When to probe the WebSocket while polling.
    pub probe: Backoff,
}

impl Default for Fallback {
    fn default() -> Self {
        Fallback { failures: 0, polling: false, probe: Backoff::new(PROBE_START, PROBE_CAP) }
    }
}

impl Fallback {
    /// What the next attempt runs over.
    pub fn transport(&self) -> Transport {
        if self.polling {
            Transport::HttpFallback
        } else {
            Transport::WebSocket
        }
    }

    /// A WebSocket attempt failed to connect; `refused` when an HTTP error answered the
    /// upgrade. Whether the engine switches to polling now.
    pub fn websocket_failed(&mut self, refused: bool) -> bool {
        self.failures = self.failures.saturating_add(1);
        if refused || self.failures >= FAILURES_BEFORE_FALLBACK {
            if !self.polling {
                self.probe.reset();
            }
            self.polling = true;
            return true;
        }
        false
    }

    /// The WebSocket works (connected, or a probe got through).
    pub fn websocket_worked(&mut self) {
        self.failures = 0;
        self.polling = false;
    }

    /// A polled attempt failed to connect: try the WebSocket next; one more failure of it
    /// comes back here.
    pub fn poll_failed(&mut self) {
        self.polling = false;
        self.failures = FAILURES_BEFORE_FALLBACK - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_after_repeated_failures_or_at_once_on_a_refusal() {
        let mut f = Fallback::default();
        assert!(!f.websocket_failed(false));
        assert!(!f.websocket_failed(false));
        assert_eq!(f.transport(), Transport::WebSocket, "two failures are not enough");
        assert!(f.websocket_failed(false));
        assert_eq!(f.transport(), Transport::HttpFallback);
        f.websocket_worked();
        assert_eq!(f.transport(), Transport::WebSocket);
        assert!(f.websocket_failed(true), "a proxy's refusal switches at once");
        f.poll_failed();
        assert_eq!(f.transport(), Transport::WebSocket, "polling failed too: the WebSocket next");
        assert!(f.websocket_failed(false), "and back to polling after one more failure");
    }
}

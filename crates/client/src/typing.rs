//! Typing indicators: the outgoing throttle and the expiry of incoming ones.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// At most one outgoing `typing` per conversation this often.
pub const TYPING_EVERY: Duration = Duration::from_millis(2500);

/// Limits outgoing `typing` ops.
#[derive(Debug, Default)]
pub(crate) struct TypingThrottle {
    last: HashMap<String, Instant>,
}

impl TypingThrottle {
    /// Whether a `typing` for this conversation may go out at `now` (and records it if so).
    pub(crate) fn allow(&mut self, conversation_id: &str, now: Instant) -> bool {
        match self.last.get(conversation_id) {
            Some(at) if now.duration_since(*at) < TYPING_EVERY => false,
            _ => {
                self.last.insert(conversation_id.to_owned(), now);
                true
            }
        }
    }
}

/// Who is typing where; each indicator carries a generation so an old timer cannot clear a
/// renewed one.
#[derive(Debug, Default)]
pub(crate) struct TypingBoard {
    active: HashMap<(String, String), u64>,
    next: u64,
}

impl TypingBoard {
    /// Someone started (or kept) typing; the generation their expiry timer must present.
    pub(crate) fn started(&mut self, conversation_id: &str, user_id: &str) -> u64 {
        self.next += 1;
        self.active.insert((conversation_id.to_owned(), user_id.to_owned()), self.next);
        self.next
    }

    /// The timer of generation `generation` fired; whether the indicator ends now.
    pub(crate) fn expire(&mut self, conversation_id: &str, user_id: &str, generation: u64) -> bool {
        let key = (conversation_id.to_owned(), user_id.to_owned());
        if self.active.get(&key) == Some(&generation) {
            self.active.remove(&key);
            true
        } else {
            false
        }
    }

    /// Their message arrived; whether an indicator was showing.
    pub(crate) fn clear(&mut self, conversation_id: &str, user_id: &str) -> bool {
        self.active.remove(&(conversation_id.to_owned(), user_id.to_owned())).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn throttle_lets_one_through_per_interval() {
        let mut t = TypingThrottle::default();
        let t0 = Instant::now();
        assert!(t.allow("c", t0));
        assert!(!t.allow("c", t0 + Duration::from_millis(2499)), "keystrokes within 2.5 s are not resent");
        assert!(t.allow("other", t0), "conversations are throttled separately");
        assert!(t.allow("c", t0 + TYPING_EVERY));
    }

    #[test]
    fn a_renewed_indicator_outlives_the_old_timer() {
        let mut b = TypingBoard::default();
        let g1 = b.started("c", "u");
        let g2 = b.started("c", "u");
        assert!(!b.expire("c", "u", g1), "the first timer must not clear the renewed indicator");
        assert!(b.expire("c", "u", g2));
        b.started("c", "u");
        assert!(b.clear("c", "u"), "their message clears it early");
        assert!(!b.clear("c", "u"));
    }
}

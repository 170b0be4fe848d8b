//! Who is online: the presence map, and auto-away.
//!
//! Auto-away reacts only to the idle time the app reports, never to presence events (not even
//! the user's own echoed back by the hub), so it cannot start a presence loop: it sets `away`
//! once when idle passes the threshold and restores the chosen status once when activity returns.

use std::collections::HashMap;
use std::time::Duration;

use rapport_protocol::rest::ChosenStatus;
use rapport_protocol::Presence;

/// Idle time after which an `online` user is shown `away` by default.
pub const AWAY_AFTER: Duration = Duration::from_secs(5 * 60);

/// Last known presence of every user who shares a conversation with this one.
#[derive(Debug, Default)]
pub(crate) struct PresenceBook {
    map: HashMap<String, Presence>,
}

impl PresenceBook {
    /// Records a presence; whether it changed.
    pub(crate) fn update(&mut self, p: Presence) -> bool {
        if self.map.get(&p.user_id) == Some(&p) {
            return false;
        }
        self.map.insert(p.user_id.clone(), p);
        true
    }

    pub(crate) fn get(&self, user_id: &str) -> Option<Presence> {
        self.map.get(user_id).cloned()
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }
}

/// The auto-away switch.
#[derive(Debug)]
pub(crate) struct AutoAway {
    pub threshold: Duration,
    active: bool,
}

impl Default for AutoAway {
    fn default() -> Self {
        AutoAway { threshold: AWAY_AFTER, active: false }
    }
}

impl AutoAway {
    /// The app reported the user idle for `idle_for`; the status to apply, only on a transition.
    pub(crate) fn on_idle(&mut self, idle_for: Duration, chosen: ChosenStatus) -> Option<ChosenStatus> {
        let idle = idle_for >= self.threshold;
        if idle && !self.active && chosen == ChosenStatus::Online {
            self.active = true;
            Some(ChosenStatus::Away)
        } else if !idle && self.active {
            self.active = false;
            Some(chosen)
        } else {
            None
        }
    }

    /// The user chose a status explicitly: auto-away no longer applies.
    pub(crate) fn reset(&mut self) {
        self.active = false;
    }

    /// What to send in `identify` and `presence.set`.
    pub(crate) fn effective(&self, chosen: ChosenStatus) -> ChosenStatus {
        if self.active { ChosenStatus::Away } else { chosen }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_away_acts_once_per_transition_and_restores() {
        let mut a = AutoAway::default();
        let five = AWAY_AFTER;
        assert_eq!(a.on_idle(Duration::from_secs(10), ChosenStatus::Online), None);
        assert_eq!(a.on_idle(five, ChosenStatus::Online), Some(ChosenStatus::Away), "idle long enough: away");
        for _ in 0..10 {
            assert_eq!(a.on_idle(five * 2, ChosenStatus::Online), None, "repeated idle reports must not resend away");
        }
        assert_eq!(a.effective(ChosenStatus::Online), ChosenStatus::Away, "a reconnect while idle identifies as away");
        assert_eq!(a.on_idle(Duration::ZERO, ChosenStatus::Online), Some(ChosenStatus::Online), "activity restores");
        assert_eq!(a.on_idle(Duration::ZERO, ChosenStatus::Online), None, "and only once");
        assert_eq!(a.on_idle(five, ChosenStatus::Busy), None, "a busy user stays busy when idle");
    }
}

//! Quiet periods: the weekly quiet hours ([`crate::quiet_hours`]) and "pause notifications".
//!
//! While quiet, every message or alert that the notification policy would have shown is held
//! here instead (counted per conversation and sender, so a weekend of messages stays small); the
//! cache and the unread counts are untouched. When the quiet period ends, [`run`] hands out one
//! digest ("7 messages from 3 candidates") if anything was held, and nothing otherwise.
//!
//! [`run`] looks at the engine's [`Clock`] at every boundary of the schedule or the pause (and at
//! least once a minute, so a sleeping laptop or a corrected clock is noticed). The state it
//! reports changes only on a boundary, so the optional "busy while quiet" presence is switched on
//! once when a period starts and off once when it ends — never back and forth.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use parking_lot::Mutex;
use rapport_protocol::Role;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::error::{Code, EngineError};
use crate::event::{NotificationToShow, QuietReason, QuietStatus};
use crate::quiet_hours::{self, QuietHours, Schedule};

/// The longest [`run`] sleeps without looking at the clock again.
const MAX_NAP: Duration = Duration::from_secs(60);
/// The longest pause one can ask for.
pub const MAX_PAUSE: Duration = Duration::from_secs(30 * 24 * 3600);

/// "Pause notifications".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pause {
    /// For this many seconds from now (1 s to 30 days).
    For {
        /// Length of the pause.
        seconds: u64,
    },
    /// Until 09:00 tomorrow in the quiet-hours time zone (this morning's 09:00 before 05:00).
    UntilTomorrow,
}

/// Who sent held messages, for the digest's wording.
#[derive(Debug, Clone)]
struct Sender {
    name: String,
    role: Option<Role>,
}

/// What was held during the current quiet period.
#[derive(Debug, Default)]
struct Held {
    /// Per conversation: messages and who sent them.
    conversations: HashMap<String, (u32, HashSet<String>)>,
    senders: HashMap<String, Sender>,
    /// Hub notifications (job alerts, application status).
    alerts: Vec<String>,
}

/// What a look at the clock changed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Changes {
    /// The status to announce (it changed).
    pub status: Option<QuietStatus>,
    /// The digest of a quiet period that just ended.
    pub digest: Option<NotificationToShow>,
    /// Busy-while-quiet was switched on (`true`) or off.
    pub busy: Option<bool>,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// The quiet-period state of one engine.
#[derive(Debug)]
pub(crate) struct Quiet {
    hours: QuietHours,
    schedule: Option<Schedule>,
    tz: TimeZone,
    paused_until: Option<Timestamp>,
    /// What was last announced (and acted on).
    status: QuietStatus,
    held: Held,
    /// How far the user has read each conversation (what `forget_conversation` was told): a
    /// message stored before the read but decided about after it is neither held for the
    /// digest nor shown.
    read_up_to: HashMap<String, i64>,
    /// The user's own role: senders are "candidates" to a recruiter when they all are.
    my_role: Option<Role>,
    busy_on: bool,
    /// The user picked a status during this quiet period: busy stays off until it ends.
    busy_overridden: bool,
}

impl Default for Quiet {
    fn default() -> Self {
        Quiet {
            hours: QuietHours::default(),
            schedule: None,
            tz: TimeZone::UTC,
            paused_until: None,
            status: QuietStatus { quiet: false, reason: None, until: None, until_local: None, paused_until: None },
            held: Held::default(),
            read_up_to: HashMap::new(),
            my_role: None,
            busy_on: false,
            busy_overridden: false,
        }
    }
}

impl Quiet {
    /// A new schedule (checked first; the old one stays on error).
    pub(crate) fn set_hours(&mut self, hours: QuietHours) -> Result<(), EngineError> {
        let schedule = hours.compile()?;
        self.tz = schedule.tz().clone();
        self.schedule = hours.enabled.then_some(schedule);
        self.hours = hours;
        Ok(())
    }

    pub(crate) fn hours(&self) -> QuietHours {
        self.hours.clone()
    }

    pub(crate) fn set_my_role(&mut self, role: Option<Role>) {
        self.my_role = role;
    }

    /// Pauses from `now`; when the pause ends.
    pub(crate) fn pause(&mut self, pause: Pause, now: Timestamp) -> Result<Timestamp, EngineError> {
        let until = match pause {
            Pause::For { seconds } => {
                if seconds == 0 || seconds > MAX_PAUSE.as_secs() {
                    return Err(EngineError::Invalid { reason: Code::Invalid, message: "a pause lasts from one second to 30 days".into() });
                }
                now.checked_add(jiff::SignedDuration::from_secs(seconds as i64)).map_err(|e| EngineError::Invalid { reason: Code::Invalid, message: e.to_string() })?
            }
            Pause::UntilTomorrow => quiet_hours::tomorrow_morning(now, &self.tz),
        };
        self.paused_until = Some(until);
        Ok(until)
    }

    /// The pause as kept in the profile (restored at start when still running).
    pub(crate) fn restore_pause(&mut self, until: Timestamp) {
        self.paused_until = Some(until);
    }

    pub(crate) fn resume(&mut self) {
        self.paused_until = None;
    }

    /// Why it is quiet at `now`, if it is.
    pub(crate) fn reason(&self, now: Timestamp) -> Option<QuietReason> {
        if self.paused_until.is_some_and(|until| now < until) {
            Some(QuietReason::Paused)
        } else if self.schedule.as_ref().is_some_and(|s| s.is_quiet(now)) {
            Some(QuietReason::Schedule)
        } else {
            None
        }
    }

    /// When the quiet time running at `now` ends: the pause and the schedule's spans joined.
    fn until(&self, now: Timestamp) -> Option<Timestamp> {
        let mut until: Option<Timestamp> = None;
        let mut at = now;
        loop {
            let pause = self.paused_until.filter(|p| at < *p);
            let span = self.schedule.as_ref().and_then(|s| s.quiet_until(at));
            match pause.max(span) {
                Some(end) if until.is_none_or(|u| end > u) => {
                    until = Some(end);
                    at = end;
                }
                _ => return until,
            }
        }
    }

    /// The status at `now`.
    pub(crate) fn status_at(&self, now: Timestamp) -> QuietStatus {
        let reason = self.reason(now);
        let until = reason.and(self.until(now));
        QuietStatus {
            quiet: reason.is_some(),
            reason,
            until: until.map(|t| t.to_string()),
            until_local: until.map(|t| quiet_hours::local_label(t, now, &self.tz)),
            paused_until: self.paused_until.filter(|p| now < *p).map(|t| t.to_string()),
        }
    }

    /// When [`run`] should look again.
    fn next_look(&self, now: Timestamp) -> Option<Timestamp> {
        let pause = self.paused_until.filter(|p| now < *p);
        let span = self.schedule.as_ref().and_then(|s| s.next_change(now));
        match (pause, span) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Holds a message instead of showing it.
    pub(crate) fn hold_message(&mut self, conversation_id: &str, seq: i64, sender_id: &str, sender_name: &str, sender_role: Option<Role>) {
        if self.was_read(conversation_id, seq) {
            return;
        }
        let entry = self.held.conversations.entry(conversation_id.to_owned()).or_default();
        entry.0 += 1;
        entry.1.insert(sender_id.to_owned());
        self.held.senders.entry(sender_id.to_owned()).or_insert_with(|| Sender { name: sender_name.to_owned(), role: sender_role });
    }

    /// Whether the user read this message already (a message is cached, and can be read,
    /// before the policy has decided about notifying it).
    pub(crate) fn was_read(&self, conversation_id: &str, seq: i64) -> bool {
        self.read_up_to.get(conversation_id).is_some_and(|read| seq <= *read)
    }

    /// Holds a hub notification instead of showing it.
    pub(crate) fn hold_alert(&mut self, notification_id: &str) {
        self.held.alerts.push(notification_id.to_owned());
    }

    /// The user read a conversation (up to `read_seq`, when that is known) meanwhile: its
    /// messages leave the digest.
    pub(crate) fn forget_conversation(&mut self, conversation_id: &str, read_seq: Option<i64>) {
        self.held.conversations.remove(conversation_id);
        if let Some(seq) = read_seq {
            let read = self.read_up_to.entry(conversation_id.to_owned()).or_default();
            *read = (*read).max(seq);
        }
    }

    /// The user picked a status: busy-while-quiet lets go until this quiet period ends.
    pub(crate) fn user_chose_status(&mut self) {
        self.busy_overridden = self.status.quiet;
        self.busy_on = false;
    }

    /// Whether busy-while-quiet holds now.
    pub(crate) fn busy(&self) -> bool {
        self.busy_on
    }

    /// Looks at the clock: what changed since the last look.
    pub(crate) fn look(&mut self, now: Timestamp) -> Changes {
        let mut changes = Changes::default();
        if self.paused_until.is_some_and(|p| p <= now) {
            self.paused_until = None;
        }
        let status = self.status_at(now);
        let ended = self.status.quiet && !status.quiet;
        if ended {
            changes.digest = self.digest(self.status.reason);
            self.busy_overridden = false;
        }
        if status != self.status {
            self.status = status.clone();
            changes.status = Some(status);
        }
        let busy = self.status.quiet && self.hours.busy_while_quiet && !self.busy_overridden;
        if busy != self.busy_on {
            self.busy_on = busy;
            changes.busy = Some(busy);
        }
        changes
    }

    /// The one notification that sums up what was held, if anything was; the held set is emptied.
    fn digest(&mut self, reason: Option<QuietReason>) -> Option<NotificationToShow> {
        let held = std::mem::take(&mut self.held);
        let messages: u32 = held.conversations.values().map(|(n, _)| n).sum();
        let senders: HashSet<&String> = held.conversations.values().flat_map(|(_, s)| s).collect();
        if messages == 0 && held.alerts.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if messages > 0 {
            let what = plural(messages, "message", "messages");
            let from = match senders.iter().next() {
                Some(only) if senders.len() == 1 => held.senders.get(*only).map_or_else(|| "someone".to_owned(), |s| s.name.clone()),
                _ => {
                    let all = |role: Role| senders.iter().all(|id| held.senders.get(*id).is_some_and(|s| s.role == Some(role)));
                    let who = match self.my_role {
                        Some(Role::Recruiter) if all(Role::Candidate) => "candidates",
                        Some(Role::Candidate) if all(Role::Recruiter) => "recruiters",
                        _ => "people",
                    };
                    format!("{} {who}", senders.len())
                }
            };
            parts.push(format!("{what} from {from}"));
        }
        if !held.alerts.is_empty() {
            parts.push(plural(held.alerts.len() as u32, "notification", "notifications"));
        }
        let title = match reason {
            Some(QuietReason::Paused) => "While notifications were paused",
            _ => "During quiet hours",
        };
        let conversation_id = (held.conversations.len() == 1 && held.alerts.is_empty()).then(|| held.conversations.keys().next().cloned()).flatten();
        let notification_id = (held.alerts.len() == 1 && messages == 0).then(|| held.alerts[0].clone());
        Some(NotificationToShow { title: title.into(), body: parts.join(" and "), conversation_id, notification_id })
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Looks at the clock at every boundary (and at least every [`MAX_NAP`]) and whenever `wake` is
/// notified (a new schedule, a pause, a resume), and hands what changed to `apply`. Ends when
/// `apply` returns `false` (the engine is gone).
pub(crate) async fn run(quiet: Arc<Mutex<Quiet>>, clock: Clock, wake: Arc<Notify>, mut apply: impl FnMut(Changes) -> bool) {
    loop {
        let now = clock.now();
        let (changes, next) = {
            let mut q = quiet.lock();
            (q.look(now), q.next_look(now))
        };
        if !changes.is_empty() && !apply(changes) {
            return;
        }
        let nap = next.map_or(MAX_NAP, |at| clock.until(at).min(MAX_NAP));
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = wake.notified() => {}
        }
        if !apply(Changes::default()) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quiet_hours::{QuietSpan, Weekday};
    use tokio::sync::mpsc;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("a test timestamp")
    }

    fn nightly(busy: bool) -> QuietHours {
        QuietHours { enabled: true, time_zone: "Europe/Paris".into(), busy_while_quiet: busy, ..QuietHours::default() }
    }

    /// The quiet task on a clock that starts at `start`, with what it reports and when.
    struct Watch {
        quiet: Arc<Mutex<Quiet>>,
        clock: Clock,
        wake: Arc<Notify>,
        seen: mpsc::UnboundedReceiver<(Timestamp, Changes)>,
    }

    impl Watch {
        fn start(start: &str, hours: QuietHours, my_role: Role) -> Watch {
            let clock = Clock::starting_at(ts(start));
            let mut q = Quiet::default();
            q.set_hours(hours).unwrap();
            q.set_my_role(Some(my_role));
            let quiet = Arc::new(Mutex::new(q));
            let wake = Arc::new(Notify::new());
            let (tx, seen) = mpsc::unbounded_channel();
            let c = clock.clone();
            tokio::spawn(run(quiet.clone(), clock.clone(), wake.clone(), move |changes| {
                changes.is_empty() || tx.send((c.now(), changes)).is_ok()
            }));
            Watch { quiet, clock, wake, seen }
        }

        async fn sleep_until(&self, at: &str) {
            tokio::time::sleep(self.clock.until(ts(at))).await;
        }

        /// Everything reported up to `at`.
        async fn reports_until(&mut self, at: &str) -> Vec<(Timestamp, Changes)> {
            self.sleep_until(at).await;
            let mut out = Vec::new();
            while let Ok(r) = self.seen.try_recv() {
                out.push(r);
            }
            out
        }

        fn hold(&self, conversation: &str, sender: &str, role: Role) {
            self.quiet.lock().hold_message(conversation, 1, sender, &format!("{sender} name"), Some(role));
        }
    }

    fn digests(reports: &[(Timestamp, Changes)]) -> Vec<(Timestamp, NotificationToShow)> {
        reports.iter().filter_map(|(at, c)| c.digest.clone().map(|d| (*at, d))).collect()
    }

    fn busy_changes(reports: &[(Timestamp, Changes)]) -> Vec<(Timestamp, bool)> {
        reports.iter().filter_map(|(at, c)| c.busy.map(|b| (*at, b))).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_night_across_midnight_gives_one_digest_at_seven() {
        // Friday 2026-06-05 21:00 CEST; quiet 22:00–07:00.
        let mut w = Watch::start("2026-06-05T19:00:00Z", nightly(false), Role::Recruiter);
        let before = w.reports_until("2026-06-05T19:59:00Z").await;
        assert!(digests(&before).is_empty() && !w.quiet.lock().status.quiet, "21:59 is not quiet");
        w.sleep_until("2026-06-05T20:00:01Z").await;
        assert_eq!(w.quiet.lock().status.reason, Some(QuietReason::Schedule), "22:00 starts quiet hours");
        assert_eq!(w.quiet.lock().status.until_local.as_deref(), Some("Sat 07:00"));
        w.hold("c1", "carl", Role::Candidate);
        w.sleep_until("2026-06-05T22:30:00Z").await; // 00:30 Saturday: past midnight, still quiet
        assert!(w.quiet.lock().status.quiet, "still quiet after midnight");
        for _ in 0..4 {
            w.hold("c2", "ann", Role::Candidate);
        }
        w.hold("c3", "bob", Role::Candidate);
        w.hold("c1", "carl", Role::Candidate);
        let night = w.reports_until("2026-06-06T06:00:00Z").await;
        let shown = digests(&night);
        assert_eq!(shown.len(), 1, "one digest for the whole night: {night:?}");
        let (at, digest) = &shown[0];
        assert!(*at >= ts("2026-06-06T05:00:00Z") && *at < ts("2026-06-06T05:00:01Z"), "at 07:00 CEST sharp, not {at}");
        assert_eq!(digest.body, "7 messages from 3 candidates", "seven messages, three distinct senders, all candidates");
        assert_eq!(digest.title, "During quiet hours");
        assert_eq!(digest.conversation_id, None, "three conversations: the click opens the app");
        assert!(!w.quiet.lock().status.quiet);
        let day = w.reports_until("2026-06-06T19:00:00Z").await;
        assert!(day.is_empty(), "a quiet day reports nothing: {day:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn dst_changes_keep_the_local_boundaries_in_paris() {
        // Spring: Saturday 2026-03-28 21:00 CET; the night is 8 hours, it ends at 07:00 CEST = 05:00Z.
        let mut w = Watch::start("2026-03-28T20:00:00Z", nightly(false), Role::Candidate);
        w.sleep_until("2026-03-28T21:00:01Z").await;
        assert!(w.quiet.lock().status.quiet, "22:00 CET");
        w.hold("c1", "rita", Role::Recruiter);
        w.hold("c1", "rita", Role::Recruiter);
        let spring = digests(&w.reports_until("2026-03-29T07:00:00Z").await);
        assert_eq!(spring.len(), 1);
        assert!(spring[0].0 >= ts("2026-03-29T05:00:00Z") && spring[0].0 < ts("2026-03-29T05:00:01Z"), "07:00 CEST, not {}", spring[0].0);
        assert_eq!(spring[0].1.body, "2 messages from rita name", "one sender is named");
        assert_eq!(spring[0].1.conversation_id.as_deref(), Some("c1"), "one conversation: the click opens it");

        // Autumn: Saturday 2026-10-24; the night is 10 hours, it ends at 07:00 CET = 06:00Z.
        let mut w = Watch::start("2026-10-24T19:00:00Z", nightly(false), Role::Candidate);
        w.sleep_until("2026-10-24T20:00:01Z").await;
        assert!(w.quiet.lock().status.quiet, "22:00 CEST = 20:00Z");
        w.hold("c1", "rita", Role::Recruiter);
        w.hold("c2", "sam", Role::Recruiter);
        let autumn = w.reports_until("2026-10-25T08:00:00Z").await;
        let shown = digests(&autumn);
        assert_eq!(shown.len(), 1);
        assert!(shown[0].0 >= ts("2026-10-25T06:00:00Z") && shown[0].0 < ts("2026-10-25T06:00:01Z"), "07:00 CET, not {}", shown[0].0);
        assert_eq!(shown[0].1.body, "2 messages from 2 recruiters", "a candidate hears from recruiters");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_of_one_hour_ends_with_a_digest_and_an_empty_one_with_none() {
        let mut w = Watch::start("2026-06-05T08:00:00Z", nightly(false), Role::Recruiter);
        let until = w.quiet.lock().pause(Pause::For { seconds: 3600 }, w.clock.now()).unwrap();
        assert_eq!(until, ts("2026-06-05T09:00:00Z"));
        w.wake.notify_one();
        let started = w.reports_until("2026-06-05T08:00:01Z").await;
        let status = started.iter().find_map(|(_, c)| c.status.clone()).expect("the pause is announced");
        assert_eq!((status.reason, status.until_local.as_deref()), (Some(QuietReason::Paused), Some("11:00")), "{status:?}");
        w.hold("c1", "carl", Role::Candidate);
        w.quiet.lock().hold_alert("n1");
        let hour = w.reports_until("2026-06-05T09:30:00Z").await;
        let shown = digests(&hour);
        assert_eq!(shown.len(), 1);
        assert!(shown[0].0 >= until && shown[0].0 < ts("2026-06-05T09:00:01Z"), "when the hour is over, not {}", shown[0].0);
        assert_eq!(shown[0].1.body, "1 message from carl name and 1 notification");
        assert_eq!(shown[0].1.title, "While notifications were paused");

        // A pause in which nothing arrives (or all of it was read meanwhile) ends silently.
        w.quiet.lock().pause(Pause::For { seconds: 600 }, w.clock.now()).unwrap();
        w.wake.notify_one();
        w.sleep_until("2026-06-05T09:31:00Z").await;
        w.hold("c1", "carl", Role::Candidate);
        w.quiet.lock().forget_conversation("c1", Some(1));
        // Stored before the read, held only after it: still read, still out of the digest.
        w.hold("c1", "carl", Role::Candidate);
        let silent = w.reports_until("2026-06-05T10:00:00Z").await;
        assert!(digests(&silent).is_empty(), "nothing left to tell: {silent:?}");
        assert_eq!(silent.iter().filter(|(_, c)| c.status.is_some()).count(), 2, "the pause and its end are announced, nothing else");

        assert!(w.quiet.lock().pause(Pause::For { seconds: 0 }, w.clock.now()).is_err(), "a pause of nothing is refused");
        assert!(w.quiet.lock().pause(Pause::For { seconds: 31 * 24 * 3600 }, w.clock.now()).is_err(), "a month-long pause is refused");
    }

    #[tokio::test(start_paused = true)]
    async fn busy_while_quiet_switches_once_each_way() {
        let mut w = Watch::start("2026-06-05T19:00:00Z", nightly(true), Role::Recruiter);
        // A whole night with a look every minute at most: still one change each way.
        let night = w.reports_until("2026-06-06T07:00:00Z").await;
        let changes = busy_changes(&night);
        assert_eq!(changes.len(), 2, "busy on at 22:00, off at 07:00, nothing in between: {changes:?}");
        assert!(changes[0].1 && !changes[1].1, "on first, then off: {changes:?}");
        assert!(changes[0].0 >= ts("2026-06-05T20:00:00Z") && changes[0].0 < ts("2026-06-05T20:00:01Z"));
        assert!(changes[1].0 >= ts("2026-06-06T05:00:00Z") && changes[1].0 < ts("2026-06-06T05:00:01Z"));

        // The user picks a status during the next night: busy lets go and stays off until morning.
        let evening = w.reports_until("2026-06-06T21:00:00Z").await;
        assert_eq!(busy_changes(&evening).iter().map(|(_, b)| *b).collect::<Vec<_>>(), vec![true], "busy again the next night");
        assert!(w.quiet.lock().busy());
        w.quiet.lock().user_chose_status();
        let rest = w.reports_until("2026-06-07T06:00:00Z").await;
        assert!(busy_changes(&rest).is_empty(), "a chosen status is not overridden: {rest:?}");
        let next = w.reports_until("2026-06-07T21:00:00Z").await;
        assert_eq!(busy_changes(&next).iter().map(|(_, b)| *b).collect::<Vec<_>>(), vec![true], "the next night applies again");

        // Without the opt-in, never.
        let mut w = Watch::start("2026-06-05T19:00:00Z", nightly(false), Role::Recruiter);
        assert!(busy_changes(&w.reports_until("2026-06-06T07:00:00Z").await).is_empty());
    }

    #[test]
    fn a_bad_schedule_keeps_the_old_one() {
        let mut q = Quiet::default();
        q.set_hours(nightly(false)).unwrap();
        let bad = QuietHours { spans: vec![QuietSpan { days: vec![Weekday::Monday], start: "25:00".into(), end: "07:00".into() }], ..nightly(false) };
        assert!(q.set_hours(bad).is_err());
        assert_eq!(q.hours(), nightly(false), "nothing half-applied");
        assert!(q.reason(ts("2026-06-05T21:00:00Z")).is_some());
    }
}

//! The notification policy: the engine decides what deserves a desktop notification, the app
//! only displays [`NotificationToShow`]s.
//!
//! A message notifies when it is from someone else, in a conversation that is not both focused
//! and in a focused window, not muted, and do-not-disturb is off. Job alerts and
//! application-status notifications notify too (outside do-not-disturb); `system` ones are only
//! listed. Messages are coalesced per conversation over a short window: one message shows its
//! text, a burst shows "5 new messages from Carl".

use std::collections::HashMap;
use std::time::Duration;

use rapport_protocol::{Card, NotificationKind};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::event::{EngineEvent, NotificationToShow};

/// How long messages of one conversation are gathered into one notification.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(1500);

/// What the user is looking at and whether they want to be disturbed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    pub focused_conversation: Option<String>,
    pub window_focused: bool,
    pub do_not_disturb: bool,
}

impl Policy {
    /// Whether a message should notify.
    pub(crate) fn wants_message(&self, me: &str, sender_id: &str, conversation_id: &str, muted: bool) -> bool {
        let looking_at_it = self.window_focused && self.focused_conversation.as_deref() == Some(conversation_id);
        sender_id != me && !muted && !self.do_not_disturb && !looking_at_it
    }

    /// Whether a hub notification should notify.
    pub(crate) fn wants_notification(&self, kind: NotificationKind) -> bool {
        !self.do_not_disturb && matches!(kind, NotificationKind::JobAlert | NotificationKind::ApplicationStatus)
    }
}

/// A message that passed the notification policy, waiting to be coalesced.
pub(crate) struct Candidate {
    pub conversation_id: String,
    pub seq: i64,
    pub title: String,
    pub sender_id: String,
    pub sender_name: String,
    pub sender_role: Option<rapport_protocol::Role>,
    pub body: String,
}

/// Turns notification candidates into coalesced [`EngineEvent::Notify`]s. Ends when the engine
/// is dropped (the candidate channel closes).
pub(crate) async fn coalesce(mut candidates: mpsc::Receiver<Candidate>, events: broadcast::Sender<EngineEvent>) {
    let mut coalescer = Coalescer::new(COALESCE_WINDOW);
    loop {
        let due = coalescer.next_due();
        tokio::select! {
            candidate = candidates.recv() => match candidate {
                Some(c) => coalescer.push(Instant::now(), &c.conversation_id, &c.title, &c.sender_name, &c.body),
                None => return,
            },
            _ = async { tokio::time::sleep_until(due.expect("guarded")).await }, if due.is_some() => {
                for show in coalescer.due(Instant::now()) {
                    let _ = events.send(EngineEvent::Notify(show));
                }
            }
        }
    }
}

#[derive(Debug)]
struct Burst {
    due: Instant,
    title: String,
    senders: Vec<String>,
    count: u32,
    first_body: String,
}

/// Gathers messages per conversation and turns each burst into one notification.
#[derive(Debug)]
pub struct Coalescer {
    window: Duration,
    bursts: HashMap<String, Burst>,
}

impl Coalescer {
    /// Bursts are gathered for `window` after their first message.
    pub fn new(window: Duration) -> Coalescer {
        Coalescer { window, bursts: HashMap::new() }
    }

    /// A message that passed the policy arrived at `now`.
    pub fn push(&mut self, now: Instant, conversation_id: &str, conversation_title: &str, sender_name: &str, body: &str) {
        let window = self.window;
        let burst = self.bursts.entry(conversation_id.to_owned()).or_insert_with(|| Burst {
            due: now + window,
            title: conversation_title.to_owned(),
            senders: Vec::new(),
            count: 0,
            first_body: body.to_owned(),
        });
        burst.count += 1;
        if !burst.senders.iter().any(|s| s == sender_name) {
            burst.senders.push(sender_name.to_owned());
        }
    }

    /// When the next burst is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.bursts.values().map(|b| b.due).min()
    }

    /// The notifications of every burst due by `now`.
    pub fn due(&mut self, now: Instant) -> Vec<NotificationToShow> {
        let ready: Vec<String> = self.bursts.iter().filter(|(_, b)| b.due <= now).map(|(id, _)| id.clone()).collect();
        let mut out = Vec::with_capacity(ready.len());
        for conversation_id in ready {
            let b = self.bursts.remove(&conversation_id).expect("listed above");
            let (title, body) = match (b.count, b.senders.as_slice()) {
                (1, [sender]) if *sender == b.title => (sender.clone(), b.first_body),
                (1, [sender]) => (b.title.clone(), format!("{sender}: {}", b.first_body)),
                (n, [sender]) => (b.title.clone(), format!("{n} new messages from {sender}")),
                (n, _) => (b.title.clone(), format!("{n} new messages in {}", b.title)),
            };
            out.push(NotificationToShow { title, body: truncate(&body, 200), conversation_id: Some(conversation_id), notification_id: None });
        }
        out
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What a notification says of a message: its text, or for a card its one-line summary
/// ("Job: Rust engineer at Acme · Berlin", "Application for Rust engineer: interview"), then
/// the text that came with it. A card's text alone would often be empty.
pub(crate) fn message_line(body: &str, card: Option<&Card>) -> String {
    let text = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = match card {
        None => return text,
        Some(Card::Job(job)) => {
            let place = job.location.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(|l| format!(" · {l}")).unwrap_or_default();
            format!("Job: {} at {}{place}", job.title.trim(), job.company.trim())
        }
        Some(Card::ApplicationStatus(status)) => format!("Application for {}: {}", status.job_title.trim(), status.status.as_str()),
    };
    if text.is_empty() { line } else { format!("{line} — {text}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_notifies_with_its_summary() {
        use rapport_protocol::{ApplicationStatus, ApplicationStatusCard, JobCard};
        let job = Card::Job(JobCard { title: "Rust engineer".into(), company: "Acme".into(), location: Some("Berlin".into()), ..JobCard::default() });
        assert_eq!(message_line("", Some(&job)), "Job: Rust engineer at Acme · Berlin", "an empty body still says what the card is");
        assert_eq!(message_line("Have a look\n  at this", Some(&job)), "Job: Rust engineer at Acme · Berlin — Have a look at this");
        let status = Card::ApplicationStatus(ApplicationStatusCard { job_title: "Rust engineer".into(), status: ApplicationStatus::Interview, note: None });
        assert_eq!(message_line("", Some(&status)), "Application for Rust engineer: interview");
        assert_eq!(message_line("plain  text", None), "plain text", "a text message is its text");
    }

    #[test]
    fn policy_skips_own_focused_muted_and_dnd() {
        let mut p = Policy { focused_conversation: Some("c1".into()), window_focused: true, do_not_disturb: false };
        assert!(!p.wants_message("me", "me", "c2", false), "never for own messages");
        assert!(!p.wants_message("me", "carl", "c1", false), "not for the conversation being looked at");
        assert!(p.wants_message("me", "carl", "c2", false), "another conversation notifies");
        assert!(!p.wants_message("me", "carl", "c2", true), "muted conversations never notify");
        p.window_focused = false;
        assert!(p.wants_message("me", "carl", "c1", false), "focused conversation in a background window notifies");
        p.do_not_disturb = true;
        assert!(!p.wants_message("me", "carl", "c1", false), "do-not-disturb silences messages");
        assert!(!p.wants_notification(NotificationKind::JobAlert), "and job alerts");
        p.do_not_disturb = false;
        assert!(p.wants_notification(NotificationKind::ApplicationStatus));
        assert!(!p.wants_notification(NotificationKind::System), "system notifications are listed only");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_becomes_one_notification() {
        let mut c = Coalescer::new(COALESCE_WINDOW);
        let t0 = Instant::now();
        for i in 0..5 {
            c.push(t0 + Duration::from_millis(100 * i), "c1", "Carl", "Carl", &format!("line {i}"));
        }
        assert!(c.due(t0 + Duration::from_millis(1000)).is_empty(), "nothing before the window closes");
        let shown = c.due(t0 + COALESCE_WINDOW);
        assert_eq!(shown.len(), 1, "five messages, one notification");
        assert_eq!(shown[0].body, "5 new messages from Carl");
        assert_eq!(shown[0].conversation_id.as_deref(), Some("c1"));
        c.push(t0 + Duration::from_secs(5), "c1", "Carl", "Carl", "hello");
        let single = c.due(t0 + Duration::from_secs(10));
        assert_eq!((single[0].title.as_str(), single[0].body.as_str()), ("Carl", "hello"), "a lone message shows its text");
        c.push(t0, "g", "Team", "Ann", "a");
        c.push(t0, "g", "Team", "Bob", "b");
        assert_eq!(c.due(t0 + COALESCE_WINDOW)[0].body, "2 new messages in Team");
        assert!(c.next_due().is_none(), "every burst was shown once");
    }
}

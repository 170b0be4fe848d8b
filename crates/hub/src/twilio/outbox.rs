//! Sends what recruiters write into bridged conversations through Twilio (1.1, §5).
//!
//! The database queues each such message in the transaction that stores it (the
//! `twilio_outbox_enqueue` trigger), so a stored message is sent even if the hub stops right
//! after. One task per hub, as the scheduler does: it sleeps until the soonest due row (woken
//! when this hub commits messages, and at least every [`MAX_SLEEP`] for rows of other hubs),
//! claims what is due for a [`LEASE`] — one hub wins each row — and calls Twilio.
//!
//! Twilio's answer is recorded at once. 429 and 5xx (and no answer) are tried again after an
//! exponential backoff with jitter, never sooner than `Retry-After`; after [`MAX_ATTEMPTS`]
//! tries, or at once on any other 4xx, the message is given up on and its sender gets a
//! `system` notification saying why. Twilio's API has no idempotency key: a hub that dies in
//! the moment between Twilio's answer and the update that records it sends that one message
//! again when the lease runs out. That window is one database round trip; everything else —
//! restarts, several hubs, retries — sends a message once.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use rapport_protocol::gateway::Event;
use rapport_protocol::{BridgeChannel, Card, NotificationKind};

use super::api::{SendFailure, TwilioApi};
use super::window;
use crate::clock::now_ms;
use crate::gateway::announce;
use crate::store::{Outbound, OutboundOutcome};
use crate::Hub;

/// How long a claim keeps other hubs off a row: far longer than a call to Twilio may take.
const LEASE: Duration = Duration::from_secs(60);
/// The longest sleep: rows other hubs queued (their wake-up does not reach us) or a claim that
/// ran out are picked up at most this late.
const MAX_SLEEP: Duration = Duration::from_secs(5);
/// Rows claimed at once.
const CLAIM_BATCH: i64 = 32;
/// The pause after the database failed.
const RETRY: Duration = Duration::from_millis(500);
/// Tries before a message is given up on.
pub const MAX_ATTEMPTS: i64 = 10;
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Runs until the hub shuts down; returns at once when the hub sends nothing (no bridge, or no
/// account SID).
pub async fn run(hub: Arc<Hub>) {
    let Some(config) = hub.config.twilio.clone() else { return };
    let Some(api) = TwilioApi::new(&config) else { return };
    loop {
        let now = now_ms();
        let claimed = hub.store.claim_outbound(now, now + LEASE.as_millis() as i64, CLAIM_BATCH).await;
        let floor = match claimed {
            Ok(rows) if rows.len() as i64 == CLAIM_BATCH => {
                send_all(&hub, &api, config.retry_base, rows).await;
                continue; // more may be due
            }
            Ok(rows) => {
                send_all(&hub, &api, config.retry_base, rows).await;
                Duration::from_millis(10)
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim outgoing WhatsApp/SMS messages");
                RETRY
            }
        };
        let wait = match hub.store.next_outbound_due().await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(_) => RETRY,
        };
        tokio::select! {
            () = tokio::time::sleep(wait.max(floor)) => {}
            () = hub.outbound_due.notified() => {}
            () = hub.shutdown.cancelled() => return,
        }
    }
}

/// Sends the claimed rows: conversations side by side, each conversation's in the order they
/// were written.
async fn send_all(hub: &Hub, api: &TwilioApi, retry_base: Duration, rows: Vec<Outbound>) {
    let mut by_conversation: Vec<Vec<Outbound>> = Vec::new();
    for row in rows {
        match by_conversation.last_mut() {
            Some(group) if group[0].conversation_id == row.conversation_id => group.push(row),
            _ => by_conversation.push(vec![row]),
        }
    }
    futures_util::future::join_all(by_conversation.into_iter().map(|group| async move {
        for row in group {
            send_one(hub, api, retry_base, row).await;
        }
    }))
    .await;
}

async fn send_one(hub: &Hub, api: &TwilioApi, retry_base: Duration, row: Outbound) {
    if row.deleted {
        // Deleted before it went out: there is nothing to send, and nothing to tell.
        let _ = hub.store.finish_outbound(&row.message_id, OutboundOutcome::Failed("deleted before it was sent")).await;
        return;
    }
    let Some(text) = outbound_text(&row.body, row.card.as_ref()) else {
        return give_up(hub, &row, "it has no text to send (files are not sent over WhatsApp or SMS)").await;
    };
    if !window::is_open(row.channel, row.last_inbound_at, now_ms()) {
        return give_up(hub, &row, window::CLOSED).await;
    }
    let (to, from) = (address(row.channel, &row.to), address(row.channel, &row.from));
    match api.send(&to, &from, &text).await {
        Ok(sid) => {
            if let Err(err) = hub.store.finish_outbound(&row.message_id, OutboundOutcome::Sent(&sid)).await {
                // The claim runs out and it is sent again: the one case of a second send.
                tracing::error!(message_id = %row.message_id, error = %err, "Twilio took a message but the hub could not record it");
            }
        }
        Err(SendFailure::Refused(why)) => give_up(hub, &row, &why).await,
        Err(SendFailure::Retry { why, .. }) if row.attempts + 1 >= MAX_ATTEMPTS => {
            give_up(hub, &row, &format!("Twilio could not take it after {MAX_ATTEMPTS} tries; last: {why}")).await
        }
        Err(SendFailure::Retry { after, why }) => {
            let wait = backoff(retry_base, row.attempts).max(after.unwrap_or_default());
            tracing::info!(message_id = %row.message_id, attempt = row.attempts + 1, wait_ms = wait.as_millis() as u64, %why, "a WhatsApp/SMS message is tried again later");
            let next = now_ms() + wait.as_millis() as i64;
            if let Err(err) = hub.store.retry_outbound(&row.message_id, row.attempts + 1, next).await {
                tracing::warn!(message_id = %row.message_id, error = %err, "cannot record a try; the claim runs out and it is tried again");
            }
        }
    }
}

/// Marks the row failed and tells its sender, once.
async fn give_up(hub: &Hub, row: &Outbound, why: &str) {
    tracing::warn!(message_id = %row.message_id, why, "a WhatsApp/SMS message was given up on");
    match hub.store.finish_outbound(&row.message_id, OutboundOutcome::Failed(why)).await {
        Ok(true) => tell_sender(hub, &row.sender_id, &row.conversation_id, &row.message_id, row.channel, why).await,
        Ok(false) => {}
        Err(err) => tracing::warn!(message_id = %row.message_id, error = %err, "cannot record a failed WhatsApp/SMS message"),
    }
}

/// A `system` notification to the sender of a message that did not reach the contact.
pub async fn tell_sender(hub: &Hub, sender_id: &str, conversation_id: &str, message_id: &str, channel: BridgeChannel, why: &str) {
    let title = match channel {
        BridgeChannel::Whatsapp => "A WhatsApp message was not delivered",
        BridgeChannel::Sms => "An SMS was not delivered",
    };
    let data = serde_json::json!({"conversation_id": conversation_id, "message_id": message_id, "channel": channel.as_str()});
    match hub.store.create_notification(sender_id, NotificationKind::System, title, why, &data).await {
        Ok(notification) => announce::to_user(hub, sender_id, &Event::Notification { notification }),
        Err(err) => tracing::warn!(message_id, error = %err, "cannot notify the sender of an undelivered message"),
    }
}

/// The Twilio address of a number on a channel.
fn address(channel: BridgeChannel, number: &str) -> String {
    match channel {
        BridgeChannel::Whatsapp => format!("whatsapp:{number}"),
        BridgeChannel::Sms => number.to_owned(),
    }
}

/// What a phone shows of a message: its text, then its card written out; `None` when that is
/// nothing (a message of files only).
pub fn outbound_text(body: &str, card: Option<&Card>) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    if !body.trim().is_empty() {
        lines.push(body.to_owned());
    }
    match card {
        Some(Card::Job(job)) => {
            lines.push(format!("{} at {}", job.title, job.company));
            lines.extend([&job.location, &job.salary, &job.url].into_iter().flatten().cloned());
        }
        Some(Card::ApplicationStatus(status)) => {
            lines.push(format!("{}: {}", status.job_title, status.status.as_str()));
            lines.extend(status.note.clone());
        }
        None => {}
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The wait after `attempts` failed tries: `base` doubled each time, capped, and drawn at
/// random from its upper half so that many messages refused together do not retry together.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doubled = base.saturating_mul(1u32 << attempts.clamp(0, 20)).min(MAX_BACKOFF);
    let half = doubled / 2;
    half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_protocol::{ApplicationStatus, ApplicationStatusCard, JobCard};

    #[test]
    fn the_backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(1);
        for attempts in 0..6 {
            let full = Duration::from_secs(1 << attempts);
            let wait = backoff(base, attempts);
            assert!(wait >= full / 2 && wait <= full, "try {attempts}: {wait:?} within [{:?}, {full:?}]", full / 2);
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF);
    }

    #[test]
    fn cards_are_written_out_and_a_message_of_files_only_has_no_text() {
        let job = Card::Job(JobCard { title: "Rust engineer".into(), company: "Acme".into(), location: Some("Berlin".into()), salary: None, url: Some("https://acme.test/jobs/1".into()), description: None });
        assert_eq!(outbound_text("Have a look", Some(&job)).as_deref(), Some("Have a look\nRust engineer at Acme\nBerlin\nhttps://acme.test/jobs/1"));
        let status = Card::ApplicationStatus(ApplicationStatusCard { job_title: "Rust engineer".into(), status: ApplicationStatus::Interview, note: None });
        assert_eq!(outbound_text("", Some(&status)).as_deref(), Some("Rust engineer: interview"));
        assert_eq!(outbound_text("  ", None), None);
    }
}

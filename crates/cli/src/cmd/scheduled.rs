//! `send --at` and `scheduled list|cancel`: messages the hub keeps and sends at their time.

use anyhow::anyhow;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rapport_client::{Draft, Engine};
use rapport_protocol::ScheduledMessage;

use crate::failure::Failure;
use crate::output::Output;

/// `--at TIME` as the instant to send at, checked against the hub's window (exit 1 otherwise).
pub fn send_at(input: &str) -> Result<Timestamp, Failure> {
    crate::when::resolve(input, Timestamp::now(), &TimeZone::system()).map_err(|message| Failure::invalid(anyhow!(message)))
}

fn line(s: &ScheduledMessage) -> String {
    let when = s.send_at.parse::<Timestamp>().map(|at| crate::when::local(at, &TimeZone::system())).unwrap_or_else(|_| s.send_at.clone());
    let what = match (s.card.as_deref(), s.body.is_empty()) {
        (Some(card), true) => super::card_line(card),
        (Some(card), false) => format!("{} {}", super::card_line(card), s.body),
        (None, _) => s.body.clone(),
    };
    format!("{}  {when}  to {}: {what}", s.id, s.conversation_id)
}

/// Hands the message to the hub for `at`.
pub async fn schedule(engine: &Engine, out: &Output, conversation: &str, draft: &Draft, at: Timestamp) -> Result<(), Failure> {
    let scheduled = engine.schedule(conversation, draft, &at.to_string()).await.map_err(Failure::engine)?;
    out.emit(&scheduled, || format!("scheduled {}", line(&scheduled)));
    Ok(())
}

/// Lists the messages still waiting, soonest first.
pub async fn list(engine: &Engine, out: &Output) -> Result<(), Failure> {
    let scheduled = engine.scheduled().await.map_err(Failure::engine)?;
    if scheduled.is_empty() && !out.json() {
        out.emit(&(), || "no scheduled messages".into());
    }
    for s in &scheduled {
        out.emit(s, || line(s));
    }
    Ok(())
}

/// Cancels one before it is sent.
pub async fn cancel(engine: &Engine, out: &Output, id: &str) -> Result<(), Failure> {
    engine.cancel_scheduled(id).await.map_err(Failure::engine)?;
    out.emit(&serde_json::json!({"cancelled": id}), || format!("cancelled {id}"));
    Ok(())
}

//! One file per command.

pub mod account;
pub mod bot;
pub mod conversations;
pub mod history;
pub mod presence;
pub mod search;
pub mod send;
pub mod sync;
pub mod tail;

use rapport_client::{Engine, LocalMessage};

/// `HH:MM` of an RFC 3339 timestamp, for human output.
pub fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..16).unwrap_or(rfc3339)
}

/// One message as a human line.
pub async fn message_line(engine: &Engine, m: &LocalMessage) -> String {
    let who = if engine.me().is_some_and(|me| me.id == m.sender_id) {
        "you".to_owned()
    } else {
        engine.display_name(&m.sender_id).await.unwrap_or_else(|| m.sender_id.clone())
    };
    let seq = m.seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let error = m.error.map(|e| format!(" ({e})")).unwrap_or_default();
    format!("#{seq} {} {who}: {} [{}{error}]", clock(&m.created_at), m.body, m.state.as_str())
}

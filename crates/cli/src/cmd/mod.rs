//! One file per command.

pub mod account;
pub mod bot;
pub mod card;
pub mod conversations;
pub mod delete;
pub mod download;
pub mod edit;
pub mod history;
pub mod presence;
pub mod react;
pub mod scheduled;
pub mod search;
pub mod send;
pub mod sync;
pub mod tail;
pub mod templates;

use std::time::Duration;

use rapport_client::{ChangeKind, Engine, LocalMessage, MessageState};
use rapport_protocol::Card;

use crate::failure::{Failure, QUEUED};
use crate::output::Output;

/// `HH:MM` of an RFC 3339 timestamp, for human output.
pub fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..16).unwrap_or(rfc3339)
}

/// A size for people: `512 B`, `12 KiB`, `3.4 MiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{} KiB", bytes / 1024),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// A card on one line: `[job: Senior Rust Engineer · Acme · Berlin · €90–110k · https://…]`,
/// `[status: Senior Rust Engineer → interview (note)]`.
pub fn card_line(card: &Card) -> String {
    match card {
        Card::Job(job) => {
            let parts: Vec<&str> = [Some(job.title.as_str()), Some(job.company.as_str()), job.location.as_deref(), job.salary.as_deref(), job.url.as_deref()].into_iter().flatten().collect();
            let description = job.description.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
            format!("[job: {}{description}]", parts.join(" · "))
        }
        Card::ApplicationStatus(status) => {
            let note = status.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            format!("[status: {} → {}{note}]", status.job_title, status.status.as_str())
        }
    }
}

/// One message as a human line: `#seq HH:MM who (reply to #n): text (edited) [state]`, then its
/// files, reactions and id.
pub async fn message_line(engine: &Engine, m: &LocalMessage) -> String {
    let me = engine.me().map(|u| u.id).unwrap_or_default();
    let name = |id: &str| {
        let id = id.to_owned();
        let me = me.clone();
        async move { if id == me { "you".to_owned() } else { engine.display_name(&id).await.unwrap_or(id) } }
    };
    let who = name(&m.sender_id).await;
    let seq = m.seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let reply = match (&m.reply, &m.reply_to) {
        (Some(quoted), _) => format!(" (reply to #{})", quoted.seq),
        (None, Some(id)) => format!(" (reply to {id})"),
        (None, None) => String::new(),
    };
    let body = match (&m.card, m.deleted_at.is_some()) {
        (_, true) => "(message deleted)".to_owned(),
        (Some(card), false) if m.body.is_empty() => card_line(card),
        (Some(card), false) => format!("{} {}", card_line(card), m.body),
        (None, false) => m.body.clone(),
    };
    let edited = if m.edited_at.is_some() && m.deleted_at.is_none() { " (edited)" } else { "" };
    let change = match &m.change {
        Some(c) if c.state == MessageState::Failed => format!(" ({} failed: {})", kind(c.kind), c.error.map(|e| e.as_str()).unwrap_or("refused")),
        Some(c) => format!(" ({} queued)", kind(c.kind)),
        None => String::new(),
    };
    let error = m.error.map(|e| format!(" ({e})")).unwrap_or_default();
    let mut line = format!("#{seq} {} {who}{reply}: {body}{edited}{change} [{}{error}]", clock(&m.created_at), m.state.as_str());
    for a in &m.attachments {
        let id = a.id.as_deref().map(|id| format!(", id {id}")).unwrap_or_default();
        line.push_str(&format!(" [file {} {}{id}]", a.filename, size(a.size)));
    }
    if let Some(upload) = &m.upload {
        line.push_str(&format!(" [uploading {} of {}]", size(upload.done), size(upload.total)));
    }
    if !m.reactions.is_empty() {
        let mut parts = Vec::new();
        for r in &m.reactions {
            let mut names = Vec::new();
            for id in &r.user_ids {
                names.push(name(id).await);
            }
            parts.push(format!("{} {} ({})", r.emoji, r.user_ids.len(), names.join(", ")));
        }
        line.push_str(&format!(" [{}]", parts.join(", ")));
    }
    if let Some(id) = &m.id {
        line.push_str(&format!(" id {id}"));
    }
    line
}

fn kind(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Edit => "edit",
        ChangeKind::Delete => "deletion",
    }
}

/// After an edit, deletion or reaction was queued: connect, wait until the hub applied it, and
/// print the message as it is then (exit 0), or as queued (exit 3) when the hub could not be
/// reached in time.
pub async fn settle(engine: &Engine, out: &Output, queued: &LocalMessage, timeout: f64, done: impl Fn(&LocalMessage) -> String) -> Result<(), Failure> {
    let reference = queued.id.clone().unwrap_or_else(|| queued.client_msg_id.clone());
    engine.start();
    match engine.wait_settled(&reference, crate::args::seconds(timeout)).await {
        Ok(settled) => {
            let line = message_line(engine, &settled).await;
            out.emit(&settled, || format!("{}: {line}", done(&settled)));
            Ok(())
        }
        Err(e) => {
            let failure = Failure::queued_or_error(e);
            if failure.exit == QUEUED {
                let line = message_line(engine, queued).await;
                out.emit(queued, || format!("queued (the hub could not be reached; a later send, sync or tail applies it): {line}"));
            }
            Err(failure)
        }
    }
}

/// Gives older queued work of this profile the rest of the time (it stays queued otherwise).
pub async fn flush_rest(engine: &Engine, deadline: tokio::time::Instant) {
    let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_millis(200));
    let _ = engine.wait_outbox_empty(left).await;
}

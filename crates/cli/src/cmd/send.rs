//! `send`: outbox first (files copied into the profile), then connect, upload and flush; with
//! `--template` the body is a saved reply filled for the conversation; with `--at` the hub
//! keeps the message and sends it later.

use anyhow::anyhow;
use rapport_client::{Draft, Engine, EngineError};

use crate::args::{seconds, SendTarget};
use crate::failure::{Failure, QUEUED};
use crate::output::Output;

/// What to send, and how.
pub struct Outgoing {
    /// Text, files, reply, card.
    pub draft: Draft,
    /// A template (name or id) whose filled body replaces the draft's.
    pub template: Option<String>,
    /// `--at TIME`, as typed.
    pub at: Option<String>,
}

/// Sends `outgoing` to `target`: queued durably and flushed now (exit 0 once acknowledged, 3
/// when the hub could not be reached in time), or scheduled at the hub with `--at`. Every
/// check (the time, the template and its variables, the card) runs before anything is queued
/// or scheduled.
pub async fn run(engine: &Engine, out: &Output, target: SendTarget, timeout: f64, outgoing: Outgoing) -> Result<(), Failure> {
    let deadline = tokio::time::Instant::now() + seconds(timeout);
    let send_at = outgoing.at.as_deref().map(super::scheduled::send_at).transpose()?;
    let Outgoing { mut draft, template, .. } = outgoing;
    // The text is checked before `--to EMAIL` is resolved (which may create the conversation);
    // a template's is checked once filled.
    if template.is_none() {
        rapport_protocol::check_body_with(&draft.body, !draft.files.is_empty() || draft.card.is_some())
            .map_err(|code| Failure::invalid(anyhow!("message not sent: {code}")))?;
    }
    // A template is filled for, and a schedule made in, a known conversation: resolve it now.
    let conversation = match (&target.conversation, template.is_some() || send_at.is_some()) {
        (Some(id), _) => Some(id.clone()),
        (None, true) => Some(direct(engine, target.to.as_deref().unwrap_or_default()).await?),
        (None, false) => None,
    };
    if let (Some(name), Some(conversation)) = (&template, &conversation) {
        draft.body = super::templates::filled(engine, name, conversation).await?;
    }
    if let (Some(send_at), Some(conversation)) = (send_at, &conversation) {
        return super::scheduled::schedule(engine, out, conversation, &draft, send_at).await;
    }
    let queued = match (&conversation, &target.to) {
        (Some(id), _) => engine.send_draft(id, &draft).await,
        (None, Some(email)) => engine.send_to_email(email, &draft).await,
        (None, None) => unreachable!("clap requires one target"),
    }
    .map_err(Failure::engine)?;
    engine.start();
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    match engine.wait_sent(&queued.client_msg_id, left).await {
        Ok(sent) => {
            // Older queued messages of this profile go out on the same connection; give them
            // the rest of the time (they stay queued otherwise, and that is fine).
            super::flush_rest(engine, deadline).await;
            out.emit(&sent, || format!("sent #{} to {}", sent.seq.unwrap_or_default(), sent.conversation_id));
            Ok(())
        }
        Err(e) => {
            let failure = Failure::queued_or_error(e);
            if failure.exit == QUEUED {
                out.emit(&queued, || format!("queued {} (the hub could not be reached; it will be sent by a later send, sync or tail)", queued.client_msg_id));
            }
            Err(failure)
        }
    }
}

/// The direct conversation with `email` (cache first, then the hub, which creates it).
async fn direct(engine: &Engine, email: &str) -> Result<String, Failure> {
    engine.direct_by_email(email).await.map_err(|e| match e {
        EngineError::Offline(_) => Failure { exit: crate::failure::ERROR, code: e.code().to_string(), error: anyhow!("{e}; no cached conversation with {email}, nothing was sent") },
        other => Failure::engine(other),
    })
}

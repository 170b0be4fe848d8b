//! Scheduled messages (1.1, §3): handed to the hub, which keeps them and sends them at their
//! time — also when this device is off. Scheduling needs the hub (there is nothing to send
//! later from here), so it fails with `offline` rather than queueing; a retry of the same
//! schedule (same `client_msg_id`) is the same scheduled message.

use rapport_protocol::rest::ScheduleRequest;
use rapport_protocol::ScheduledMessage;

use crate::compose::{check_card_of_mine, Draft};
use crate::error::{Code, EngineError};
use crate::shared::Shared;

/// Schedules `draft` (text and an optional card; files and replies cannot wait that long) for
/// `send_at` (RFC 3339, 1 minute to 90 days ahead; the hub checks the window).
pub(crate) async fn schedule(shared: &Shared, conversation_id: &str, draft: &Draft, send_at: &str) -> Result<ScheduledMessage, EngineError> {
    let invalid = |message: &str| EngineError::Invalid { reason: Code::InvalidPayload, message: message.to_owned() };
    if !draft.files.is_empty() || draft.reply_to.is_some() {
        return Err(invalid("a scheduled message cannot carry files or answer a message"));
    }
    if let Some(card) = &draft.card {
        check_card_of_mine(shared, card)?;
    }
    rapport_protocol::check_body_with(&draft.body, draft.card.is_some())
        .map_err(|code| EngineError::Invalid { reason: code.into(), message: format!("message not scheduled: {code}") })?;
    let req = ScheduleRequest {
        conversation_id: conversation_id.to_owned(),
        client_msg_id: uuid::Uuid::now_v7().to_string(),
        body: draft.body.clone(),
        card: draft.card.clone().map(Box::new),
        send_at: send_at.to_owned(),
    };
    shared
        .authed(|api, token| {
            let req = req.clone();
            async move { api.schedule(&token, &req).await }
        })
        .await
}

/// The user's scheduled messages not sent yet, soonest first.
pub(crate) async fn list(shared: &Shared) -> Result<Vec<ScheduledMessage>, EngineError> {
    Ok(shared.authed(|api, token| async move { api.scheduled(&token).await }).await?.scheduled)
}

/// Cancels one (`not_found` when unknown; `invalid`/`gone` once it is being sent or was sent).
pub(crate) async fn cancel(shared: &Shared, id: &str) -> Result<(), EngineError> {
    let id = id.to_owned();
    shared
        .authed(|api, token| {
            let id = id.clone();
            async move { api.cancel_scheduled(&token, &id).await }
        })
        .await
}

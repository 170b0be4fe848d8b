//! `send`: outbox first (files copied into the profile), then connect, upload and flush.

use rapport_client::{Draft, Engine};

use crate::args::{seconds, SendTarget};
use crate::failure::Failure;
use crate::output::Output;

/// Queues the message durably, connects, and waits for the hub's acknowledgement.
pub async fn run(engine: &Engine, out: &Output, target: SendTarget, timeout: f64, draft: &Draft) -> Result<(), Failure> {
    let deadline = tokio::time::Instant::now() + seconds(timeout);
    let queued = match (&target.to, &target.conversation) {
        (Some(email), _) => engine.send_to_email(email, draft).await,
        (None, Some(id)) => engine.send_draft(id, draft).await,
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
            if failure.exit == crate::failure::QUEUED {
                out.emit(&queued, || format!("queued {} (the hub could not be reached; it will be sent by a later send, sync or tail)", queued.client_msg_id));
            }
            Err(failure)
        }
    }
}

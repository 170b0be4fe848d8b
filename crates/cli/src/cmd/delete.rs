//! `delete`: take back one of your messages (it becomes "message deleted" for everyone).

use rapport_client::Engine;

use crate::failure::Failure;
use crate::output::Output;

/// Queues the deletion, connects, and waits until the hub applied it. A message that never left
/// this profile is simply dropped from the outbox.
pub async fn run(engine: &Engine, out: &Output, id: &str, timeout: f64) -> Result<(), Failure> {
    match engine.delete(id).await.map_err(Failure::engine)? {
        Some(queued) => super::settle(engine, out, &queued, timeout, |m| format!("deleted #{}", m.seq.unwrap_or_default())).await,
        None => {
            out.emit(&serde_json::json!({"discarded": id}), || format!("discarded {id} (it had not been sent yet)"));
            Ok(())
        }
    }
}

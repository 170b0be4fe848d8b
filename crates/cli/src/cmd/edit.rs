//! `edit`: a new text for one of your messages, queued like a send.

use rapport_client::Engine;

use crate::failure::Failure;
use crate::output::Output;

/// Queues the edit, connects, and waits until the hub applied it.
pub async fn run(engine: &Engine, out: &Output, id: &str, text: &str, timeout: f64) -> Result<(), Failure> {
    let queued = engine.edit(id, text).await.map_err(Failure::engine)?;
    super::settle(engine, out, &queued, timeout, |m| format!("edited #{}", m.seq.unwrap_or_default())).await
}

//! `sync`: connect, flush, catch up.

use rapport_client::Engine;

use crate::args::seconds;
use crate::failure::Failure;
use crate::output::Output;

/// Connects, flushes the outbox and catches every conversation up.
pub async fn run(engine: &Engine, out: &Output, timeout: f64) -> Result<(), Failure> {
    engine.sync(seconds(timeout)).await.map_err(Failure::queued_or_error)?;
    let conversations = engine.conversations().await.map_err(Failure::engine)?;
    let unread: i64 = conversations.iter().map(|c| c.unread_count).sum();
    let failed = engine.outbox().await.map_err(Failure::engine)?.len();
    out.emit(&serde_json::json!({"synced": true, "conversations": conversations.len(), "unread": unread, "failed": failed}), || {
        let failed = if failed > 0 { format!(", {failed} failed message(s) in the outbox") } else { String::new() };
        format!("synced {} conversation(s), {unread} unread{failed}", conversations.len())
    });
    Ok(())
}

//! `react`: an emoji on a message, or taking it back (`--off`).

use rapport_client::Engine;

use crate::failure::Failure;
use crate::output::Output;

/// Queues the reaction, connects, and waits until the hub applied it.
pub async fn run(engine: &Engine, out: &Output, id: &str, emoji: &str, on: bool, timeout: f64) -> Result<(), Failure> {
    let queued = engine.react(id, emoji, on).await.map_err(Failure::engine)?;
    let verb = if on { "reacted" } else { "took back" };
    super::settle(engine, out, &queued, timeout, |m| format!("{verb} {emoji} on #{}", m.seq.unwrap_or_default())).await
}

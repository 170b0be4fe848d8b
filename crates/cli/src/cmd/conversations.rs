//! `conversations`: the cached list.

use rapport_client::Engine;

use crate::failure::Failure;
use crate::output::Output;

/// Lists cached conversations, most recent first.
pub async fn run(engine: &Engine, out: &Output) -> Result<(), Failure> {
    let list = engine.conversations().await.map_err(Failure::engine)?;
    if list.is_empty() && !out.json() {
        out.emit(&(), || "no cached conversations (run sync first)".into());
    }
    for c in &list {
        out.emit(c, || {
            let last = c.last_message.as_ref().map(|m| format!(" — {}", m.body.chars().take(60).collect::<String>())).unwrap_or_default();
            let stage = c.application.as_ref().map(|a| format!(" [{}: {}]", a.status.as_str(), a.job_title)).unwrap_or_default();
            format!("{}  {}  [{}]{stage} unread {}{last}", c.id, c.display_title, c.kind.as_str(), c.unread_count)
        });
    }
    Ok(())
}

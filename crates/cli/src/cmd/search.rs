//! `search`: full-text search over the cache.

use rapport_client::Engine;

use crate::failure::Failure;
use crate::output::Output;

/// Prints matching messages, best first.
pub async fn run(engine: &Engine, out: &Output, query: &str, limit: u32) -> Result<(), Failure> {
    let hits = engine.search(query, limit).await.map_err(Failure::engine)?;
    if hits.is_empty() && !out.json() {
        out.emit(&(), || "no matches".into());
    }
    for hit in &hits {
        let snippet: String = hit.snippet.iter().map(|p| if p.hit { format!("[{}]", p.text) } else { p.text.clone() }).collect();
        let mut line = serde_json::to_value(&hit.message).unwrap_or_default();
        if let Some(obj) = line.as_object_mut() {
            obj.insert("snippet".into(), snippet.clone().into());
            obj.insert("conversation_title".into(), hit.conversation_title.clone().into());
            obj.insert("sender_name".into(), hit.sender_name.clone().into());
        }
        out.emit(&line, || {
            let who = hit.sender_name.clone().unwrap_or_else(|| hit.message.sender_id.clone());
            format!("{} | {who}: {snippet}", hit.conversation_title)
        });
    }
    Ok(())
}

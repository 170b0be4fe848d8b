//! `history`: cached messages, oldest first.

use anyhow::anyhow;
use rapport_client::{Engine, EngineError};

use crate::args::HistoryTarget;
use crate::failure::Failure;
use crate::output::Output;

/// Resolves `--with EMAIL` to a cached direct conversation.
async fn conversation_with(engine: &Engine, email: &str) -> Result<String, Failure> {
    let me = engine.me().ok_or_else(|| Failure::error(anyhow!("not logged in")))?;
    let user_id = match engine.cached_user_by_email(email).await.map_err(Failure::engine)? {
        Some(id) => id,
        None => match engine.user_by_email(email).await {
            Ok(user) => user.id,
            Err(EngineError::Offline(_)) => return Err(Failure::error(anyhow!("{email} is not in the cache and the hub cannot be reached"))),
            Err(e) => return Err(Failure::engine(e)),
        },
    };
    engine
        .cached_direct_with(&me.id, &user_id)
        .await
        .map_err(Failure::engine)?
        .ok_or_else(|| Failure::error(anyhow!("no cached conversation with {email} (run sync first)")))
}

/// Prints cached messages (and queued ones at the end), oldest first.
pub async fn run(engine: &Engine, out: &Output, target: HistoryTarget, limit: Option<u32>) -> Result<(), Failure> {
    let conversation_id = match (&target.with, &target.conversation) {
        (Some(email), _) => conversation_with(engine, email).await?,
        (None, Some(id)) => id.clone(),
        (None, None) => unreachable!("clap requires one target"),
    };
    let messages = match limit {
        Some(n) => engine.history(&conversation_id, None, n.max(1)).await.map_err(Failure::engine)?.messages,
        None => {
            // Everything: page backwards, then print in ascending order.
            let mut page = engine.history(&conversation_id, None, 1000).await.map_err(Failure::engine)?;
            let mut all = page.messages;
            while page.has_more {
                let before = all.iter().find_map(|m| m.seq);
                page = engine.history(&conversation_id, before, 1000).await.map_err(Failure::engine)?;
                let mut older = page.messages;
                older.append(&mut all);
                all = older;
            }
            all
        }
    };
    for m in &messages {
        let line = super::message_line(engine, m).await;
        out.emit(m, || line);
    }
    Ok(())
}

//! Finding people by email and their direct conversation (cache first, then the hub).

use rapport_protocol::rest::CreateConversation;
use rapport_protocol::User;

use crate::shared::Shared;
use crate::EngineError;

/// The user with exactly this email, asked of the hub (and remembered with their email).
pub(crate) async fn lookup_email(shared: &Shared, email: &str) -> Result<User, EngineError> {
    let q = email.trim().to_lowercase();
    let list = shared
        .authed(|api, token| {
            let q = q.clone();
            async move { api.users(&token, &q, 20).await }
        })
        .await?;
    let user = list
        .users
        .into_iter()
        .find(|u| u.email.eq_ignore_ascii_case(&q))
        .ok_or_else(|| EngineError::NotFound(format!("no user with email {q}")))?;
    shared.cache.upsert_user(&user).await?;
    Ok(user)
}

/// The direct conversation with the user who has this email: cached, or created at the hub.
pub(crate) async fn direct_for_email(shared: &Shared, email: &str) -> Result<String, EngineError> {
    let me = shared.me_id()?;
    if let Some(user_id) = shared.cache.user_by_email(email).await? {
        if let Some(id) = shared.cache.direct_with(&me, &user_id).await? {
            return Ok(id);
        }
    }
    let user = lookup_email(shared, email).await?;
    if let Some(id) = shared.cache.direct_with(&me, &user.id).await? {
        return Ok(id);
    }
    let req = CreateConversation::Direct { user_id: user.id };
    let conversation = shared
        .authed(|api, token| {
            let req = req.clone();
            async move { api.create_conversation(&token, &req).await }
        })
        .await?;
    shared.store_conversation(&conversation).await?;
    if conversation.last_seq > shared.cache.synced_seq(&conversation.id).await? {
        shared.kick_catch_up.notify_one();
    }
    Ok(conversation.id)
}

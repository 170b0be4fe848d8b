//! Saved replies (1.1, §3): kept on the hub (every device of the user has them), filled in
//! here before they are sent. Every variable must have a value in the conversation: a template
//! that names an unknown one, or one this conversation cannot fill, is refused with a message
//! that says which — it never goes out with braces in it.

use rapport_protocol::rest::TemplateRequest;
use rapport_protocol::{template, ConversationKind, Template};

use crate::error::{Code, EngineError};
use crate::shared::Shared;

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Invalid { reason: Code::InvalidPayload, message: message.into() }
}

/// The user's templates, by name (hub).
pub(crate) async fn list(shared: &Shared) -> Result<Vec<Template>, EngineError> {
    Ok(shared.authed(|api, token| async move { api.templates(&token).await }).await?.templates)
}

/// Saves a new template; the same variable rules as the hub's are checked first.
pub(crate) async fn add(shared: &Shared, name: &str, body: &str) -> Result<Template, EngineError> {
    template::parse(body).map_err(|e| invalid(e.to_string()))?;
    let req = TemplateRequest { name: name.to_owned(), body: body.to_owned() };
    shared.authed(|api, token| {
        let req = req.clone();
        async move { api.create_template(&token, &req).await }
    })
    .await
}

/// Replaces a template's name and body.
pub(crate) async fn update(shared: &Shared, id: &str, name: &str, body: &str) -> Result<Template, EngineError> {
    template::parse(body).map_err(|e| invalid(e.to_string()))?;
    let (id, req) = (id.to_owned(), TemplateRequest { name: name.to_owned(), body: body.to_owned() });
    shared.authed(|api, token| {
        let (id, req) = (id.clone(), req.clone());
        async move { api.update_template(&token, &id, &req).await }
    })
    .await
}

/// Removes a template.
pub(crate) async fn remove(shared: &Shared, id: &str) -> Result<(), EngineError> {
    let id = id.to_owned();
    shared.authed(|api, token| {
        let id = id.clone();
        async move { api.delete_template(&token, &id).await }
    })
    .await
}

/// `body` with its variables filled from the cached conversation:
/// - `{{display_name}}`: the other person of a direct conversation (a group has no one person);
/// - `{{first_name}}`: the first word of that name;
/// - `{{job_title}}`: the title of the newest job card in the conversation;
/// - `{{my_name}}`: the user's own display name.
pub(crate) async fn fill(shared: &Shared, conversation_id: &str, body: &str) -> Result<String, EngineError> {
    let me = shared.me().ok_or_else(|| EngineError::Unauthorized("not signed in".into()))?;
    // Parsed first: an unknown variable is reported as such, whatever the conversation.
    template::parse(body).map_err(|e| invalid(e.to_string()))?;
    let summary = shared.cache.summary(conversation_id, &me.id).await?.ok_or_else(|| EngineError::NotFound("conversation".into()))?;
    let other = match summary.kind {
        ConversationKind::Direct => summary.members.iter().find(|m| m.user_id != me.id).map(|m| m.display_name.clone()),
        ConversationKind::Group => None,
    };
    let job_title = shared.cache.latest_job_title(conversation_id).await?;
    template::fill(body, |name| match name {
        "display_name" => other.clone(),
        "first_name" => other.as_deref().and_then(|n| n.split_whitespace().next()).map(str::to_owned),
        "job_title" => job_title.clone(),
        "my_name" => Some(me.display_name.clone()),
        _ => None,
    })
    .map_err(|e| invalid(e.to_string()))
}

//! Where an event goes: to the sessions on this hub and, with `--redis`, to those on every other
//! hub. Everything that announces something goes through here, so that no event reaches only
//! the sessions of the hub where it happened.

use rapport_protocol::gateway::Event;
use rapport_protocol::Conversation;

use super::Skip;
use crate::Hub;

/// An event about a conversation (a message event, a receipt, typing) for every member's
/// sessions but those `skip` names.
pub async fn in_conversation(hub: &Hub, conversation_id: &str, members: &[String], skip: Skip<'_>, event: &Event) {
    match &hub.cluster {
        Some(cluster) => cluster.conversation_event(hub, conversation_id, event, skip).await,
        None => {
            hub.gateway.dispatch(members.iter().map(String::as_str), skip, event);
        }
    }
}

/// A conversation was just created: `conversation.created` for every member.
pub async fn conversation_created(hub: &Hub, conversation: &Conversation) {
    let members: Vec<String> = conversation.members.iter().map(|m| m.user_id.clone()).collect();
    hub.gateway.remember_members(&conversation.id, members.clone());
    match &hub.cluster {
        Some(cluster) => cluster.conversation_created(hub, conversation, &members).await,
        None => {
            // A new conversation has no messages, so every member sees the same object.
            let event = Event::ConversationCreated { conversation: Box::new(conversation.clone()) };
            hub.gateway.dispatch(members.iter().map(String::as_str), Skip::Nobody, &event);
        }
    }
}

/// An event for one user's sessions (a notification).
pub fn to_user(hub: &Hub, user_id: &str, event: &Event) {
    match &hub.cluster {
        Some(cluster) => cluster.user_event(hub, user_id, event),
        None => {
            hub.gateway.dispatch([user_id], Skip::Nobody, event);
        }
    }
}

/// A login was revoked: its sessions close and it is trusted no more, on every hub.
pub fn login_revoked(hub: &Hub, login_id: &str) {
    hub.logins.revoked(login_id);
    hub.gateway.end_login(login_id);
    if let Some(cluster) = &hub.cluster {
        cluster.revoked(login_id);
    }
}

//! What this hub needs to hear: the users with sessions here, and the conversations they are
//! in. Each user brings their own channel; each conversation one channel however many of its
//! members are here, counted so that it is subscribed while one of them is and unsubscribed
//! when the last leaves.
//!
//! Only the bookkeeping lives here, under one short lock that is never held across an await;
//! the subscriber turns it into SUBSCRIBE and UNSUBSCRIBE.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use rapport_protocol::Conversation;

use super::order::Tracked;

/// The local users and their conversations.
#[derive(Default)]
pub struct Interest {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, UserInterest>,
    /// Each conversation that a local user is in: how many of them, and its order.
    conversations: HashMap<String, (usize, Arc<Tracked>)>,
}

#[derive(Default)]
struct UserInterest {
    sessions: usize,
    conversations: HashSet<String>,
}

impl Interest {
    /// A session of `user_id` opened here; `true` for the user's first, whose channel must
    /// now be subscribed.
    pub fn join(&self, user_id: &str) -> bool {
        let mut inner = self.inner.lock();
        let user = inner.users.entry(user_id.to_owned()).or_default();
        user.sessions += 1;
        user.sessions == 1
    }

    /// A session of `user_id` is gone. When it was the user's last, returns the conversations
    /// that no local user is in any more (their channels, and the user's, may be unsubscribed).
    pub fn leave(&self, user_id: &str) -> Option<Vec<String>> {
        let mut inner = self.inner.lock();
        let user = inner.users.get_mut(user_id)?;
        user.sessions = user.sessions.saturating_sub(1);
        if user.sessions > 0 {
            return None;
        }
        let user = inner.users.remove(user_id).expect("just found");
        let mut gone = Vec::new();
        for id in user.conversations {
            if let Some((count, _)) = inner.conversations.get_mut(&id) {
                *count -= 1;
                if *count == 0 {
                    inner.conversations.remove(&id);
                    gone.push(id);
                }
            }
        }
        Some(gone)
    }

    /// The user (with a session here) is in `conversation`, as of the state it shows. Returns
    /// its order when this hub did not follow the conversation yet (its channel must now be
    /// subscribed, and what happened since that state read); `None` when it already did, or
    /// when the user has no session here any more.
    pub fn track(&self, user_id: &str, conversation: &Conversation) -> Option<Arc<Tracked>> {
        let mut inner = self.inner.lock();
        let user = inner.users.get_mut(user_id)?;
        if !user.conversations.insert(conversation.id.clone()) {
            return None;
        }
        match inner.conversations.get_mut(&conversation.id) {
            Some((count, _)) => {
                *count += 1;
                None
            }
            None => {
                let tracked = Arc::new(Tracked::new(conversation));
                inner.conversations.insert(conversation.id.clone(), (1, tracked.clone()));
                Some(tracked)
            }
        }
    }

    /// Whether the user has a session here and is known to be in the conversation.
    pub fn knows(&self, user_id: &str, conversation_id: &str) -> bool {
        self.inner.lock().users.get(user_id).is_some_and(|u| u.conversations.contains(conversation_id))
    }

    /// The order of a conversation that local users are in.
    pub fn tracked(&self, conversation_id: &str) -> Option<Arc<Tracked>> {
        self.inner.lock().conversations.get(conversation_id).map(|(_, t)| t.clone())
    }

    /// Whether this user has a session here.
    pub fn has_user(&self, user_id: &str) -> bool {
        self.inner.lock().users.contains_key(user_id)
    }

    /// Whether a local user is in this conversation.
    pub fn has_conversation(&self, conversation_id: &str) -> bool {
        self.inner.lock().conversations.contains_key(conversation_id)
    }

    /// The users with sessions here.
    pub fn users(&self) -> Vec<String> {
        self.inner.lock().users.keys().cloned().collect()
    }

    /// Every conversation followed, with its order.
    pub fn conversations(&self) -> Vec<(String, Arc<Tracked>)> {
        self.inner.lock().conversations.iter().map(|(id, (_, t))| (id.clone(), t.clone())).collect()
    }

    /// The conversations a local user is known to be in.
    pub fn conversations_of(&self, user_id: &str) -> HashSet<String> {
        self.inner.lock().users.get(user_id).map(|u| u.conversations.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_protocol::ConversationKind;

    fn conversation(id: &str) -> Conversation {
        Conversation {
            id: id.into(),
            kind: ConversationKind::Direct,
            title: None,
            members: Vec::new(),
            last_seq: 0,
            last_message: None,
            unread_count: 0,
            created_at: String::new(),
            last_rev: 0,
            application: None,
            bridge: None,
        }
    }

    #[test]
    fn a_conversation_is_followed_while_one_of_its_local_members_has_a_session() {
        let interest = Interest::default();
        assert!(interest.join("alice"), "alice's first session: subscribe her channel");
        assert!(!interest.join("alice"), "her second: already subscribed");
        assert!(interest.join("bob"));
        assert!(interest.track("alice", &conversation("c")).is_some(), "first member here: follow it");
        assert!(interest.track("alice", &conversation("c")).is_none(), "the same again: nothing new");
        assert!(interest.track("bob", &conversation("c")).is_none(), "a second member: already followed");
        assert!(interest.track("carol", &conversation("c")).is_none(), "no session here: not followed for her");

        assert_eq!(interest.leave("alice"), None, "alice still has a session");
        assert_eq!(interest.leave("alice"), Some(vec![]), "bob is still in c");
        assert!(interest.has_conversation("c"));
        assert_eq!(interest.leave("bob"), Some(vec!["c".to_owned()]), "the last member here left");
        assert!(!interest.has_conversation("c") && !interest.has_user("bob"));
        assert_eq!(interest.leave("bob"), None, "leaving twice changes nothing");
    }
}

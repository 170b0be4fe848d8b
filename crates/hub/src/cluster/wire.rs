//! What travels between hubs, and the names of the Redis channels and keys.
//!
//! Every payload is JSON: the hub that published it, when (for the lag metric), and what
//! happened. An event is the protocol's own [`Event`], so a hub that receives one hands its
//! sessions exactly what the publishing hub handed its own.

use rapport_protocol::gateway::Event;
use serde::{Deserialize, Serialize};

/// One message on a channel.
#[derive(Debug, Serialize, Deserialize)]
pub struct Relayed {
    /// The hub that published it (it has handed the event to its own sessions already).
    pub from: String,
    /// When it was published, in milliseconds since the Unix epoch (the publisher's clock).
    pub at_ms: i64,
    /// What happened.
    pub body: Body,
}

/// What happened, by the kind of channel it travels on.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// On a conversation's channel: an event for every member's sessions (message events,
    /// receipts, typing).
    Conversation {
        /// The event.
        event: Event,
        /// Whose sessions it skips (the typist's).
        skip_user: Option<String>,
    },
    /// On a user's channel: an event for that user's sessions (conversation.created,
    /// notification).
    User {
        /// The event.
        event: Event,
    },
    /// On a user's channel: someone's shown presence changed; `version` orders the changes of
    /// one user whichever hub announced them.
    Presence {
        /// The `presence` event.
        event: Event,
        /// The subject's presence version after this change.
        version: u64,
    },
    /// On the logins channel: a login was revoked; every hub stops trusting it now.
    Revoked {
        /// The login.
        login_id: String,
    },
    /// On a conversation's channel: events of it may not have been published (a hub's queue
    /// overflowed while Redis was away); read it from the database.
    CatchUp,
}

/// The names of this deployment's channels and keys: everything under one prefix, so that
/// several deployments (or test runs) can share a Redis.
#[derive(Debug, Clone)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Names {
        Names { prefix: prefix.to_owned() }
    }

    /// A conversation's events.
    pub fn conversation(&self, conversation_id: &str) -> String {
        format!("{}:c:{conversation_id}", self.prefix)
    }

    /// What is addressed to one user.
    pub fn user(&self, user_id: &str) -> String {
        format!("{}:u:{user_id}", self.prefix)
    }

    /// Login revocations, heard by every hub.
    pub fn logins(&self) -> String {
        format!("{}:logins", self.prefix)
    }

    /// What a channel name is about, when it is one of ours.
    pub fn parse<'a>(&self, channel: &'a str) -> Option<Channel<'a>> {
        let rest = channel.strip_prefix(self.prefix.as_str())?.strip_prefix(':')?;
        if rest == "logins" {
            return Some(Channel::Logins);
        }
        let (kind, id) = rest.split_once(':')?;
        match kind {
            "c" => Some(Channel::Conversation(id)),
            "u" => Some(Channel::User(id)),
            _ => None,
        }
    }

    /// A user's presence: connection counts per hub, chosen and shown status.
    pub fn presence(&self, user_id: &str) -> String {
        format!("{}:p:{user_id}", self.prefix)
    }

    /// The cross-hub typing throttle of one user in one conversation.
    pub fn typing(&self, user_id: &str, conversation_id: &str) -> String {
        format!("{}:t:{user_id}:{conversation_id}", self.prefix)
    }
}

/// A channel of ours.
#[derive(Debug, PartialEq, Eq)]
pub enum Channel<'a> {
    /// A conversation's.
    Conversation(&'a str),
    /// A user's.
    User(&'a str),
    /// Revocations.
    Logins,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_parse_back_and_foreign_ones_are_ignored() {
        let names = Names::new("rapport");
        assert_eq!(names.parse(&names.conversation("c1")), Some(Channel::Conversation("c1")));
        assert_eq!(names.parse(&names.user("u1")), Some(Channel::User("u1")));
        assert_eq!(names.parse(&names.logins()), Some(Channel::Logins));
        assert_eq!(names.parse("rapportx:c:c1"), None, "another deployment's prefix");
        assert_eq!(names.parse("rapport:p:u1"), None, "a key, not a channel");
    }

    #[test]
    fn a_relayed_event_keeps_the_protocol_shape() {
        let relayed = Relayed {
            from: "h1".into(),
            at_ms: 5,
            body: Body::Conversation {
                event: Event::Typing { conversation_id: "c".into(), user_id: "u".into(), expires_in_ms: 6000 },
                skip_user: Some("u".into()),
            },
        };
        let json = serde_json::to_value(&relayed).unwrap();
        assert_eq!(json["body"]["kind"], "conversation");
        assert_eq!(json["body"]["event"]["type"], "typing", "the event is the gateway's own");
        let back: Relayed = serde_json::from_value(json).unwrap();
        assert!(matches!(back.body, Body::Conversation { skip_user: Some(_), .. }));
    }
}

//! Shared set-ups.

use rapport_protocol::{Conversation, Session};
use rapport_testkit::{Api, TestHub};
use serde_json::{json, Value};

/// Two users and the direct conversation between them.
pub struct Pair {
    pub alice: Api,
    pub alice_session: Session,
    pub bob: Api,
    pub bob_session: Session,
    pub conversation: Conversation,
}

pub async fn pair(hub: &TestHub) -> Pair {
    let (alice, alice_session) = hub.api().user("Alice Recruiter", "recruiter").await;
    let (bob, bob_session) = hub.api().user("Bob Candidate", "candidate").await;
    let conversation = alice.direct(&bob_session.user.id).await;
    Pair { alice, alice_session, bob, bob_session, conversation }
}

pub fn send_data(conversation_id: &str, client_msg_id: &str, body: &str) -> Value {
    json!({"conversation_id": conversation_id, "client_msg_id": client_msg_id, "body": body})
}

/// The events of one type among frames.
pub fn events<'a>(frames: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    frames.iter().filter(move |f| f["op"] == "event" && f["type"] == kind)
}

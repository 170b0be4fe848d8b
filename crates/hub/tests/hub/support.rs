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

/// Sends a message over the gateway and returns it as acked.
pub async fn send(gw: &mut rapport_testkit::Gw, conversation_id: &str, client_msg_id: &str, body: &str) -> Value {
    let ack = gw.request("message.send", send_data(conversation_id, client_msg_id, body)).await;
    assert_eq!(ack["op"], "ack", "send {client_msg_id}: {ack}");
    ack["data"]["message"].clone()
}

/// `{conversation_id, message_id}` plus the given fields.
pub fn target(conversation_id: &str, message_id: &Value, extra: Value) -> Value {
    let mut data = json!({"conversation_id": conversation_id, "message_id": message_id});
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    data
}

/// The error code of a gateway reply ("" for an ack).
pub fn code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or("")
}

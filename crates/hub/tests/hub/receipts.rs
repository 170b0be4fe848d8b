//! Delivered and read receipts, over the gateway and REST.

use rapport_testkit::{Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

#[tokio::test]
async fn delivered_and_read_move_forward_and_every_member_hears() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    for n in 1..=3 {
        alice.request("message.send", send_data(c, &format!("r{n}"), "hi")).await;
    }
    let bob_id = p.bob_session.user.id.as_str();

    assert_eq!(bob.request("delivered", json!({"conversation_id": c, "seq": 3})).await["op"], "ack");
    let receipt = alice.event("receipt").await;
    assert_eq!(receipt["data"], json!({"conversation_id": c, "user_id": bob_id, "kind": "delivered", "seq": 3}));
    bob.event("receipt").await; // members include the reader

    let view = p.bob.get(&format!("/v1/conversations/{c}")).await.body;
    assert_eq!(view["unread_count"], 3, "delivered is not read");

    bob.request("read", json!({"conversation_id": c, "seq": 2})).await;
    let receipt = alice.event("receipt").await;
    assert_eq!((receipt["data"]["kind"].as_str(), receipt["data"]["seq"].as_i64()), (Some("read"), Some(2)));
    assert_eq!(p.bob.get(&format!("/v1/conversations/{c}")).await.body["unread_count"], 1);

    // Never backwards.
    bob.request("read", json!({"conversation_id": c, "seq": 1})).await;
    assert_eq!(alice.event("receipt").await["data"]["seq"], 2, "read_seq = max(old, seq)");

    // Over REST, beyond the last message: capped at the last message.
    let rest = p.bob.post(&format!("/v1/conversations/{c}/read"), json!({"seq": 99})).await;
    assert_eq!(rest.status, 204);
    assert_eq!(alice.event("receipt").await["data"]["seq"], 3);
    let view = p.alice.get(&format!("/v1/conversations/{c}")).await.body;
    let member = view["members"].as_array().unwrap().iter().find(|m| m["user_id"] == bob_id).unwrap().clone();
    assert_eq!((member["read_seq"].as_i64(), member["delivered_seq"].as_i64()), (Some(3), Some(3)));
    assert_eq!(p.bob.get(&format!("/v1/conversations/{c}")).await.body["unread_count"], 0);
    let bad = p.bob.post(&format!("/v1/conversations/{c}/read"), json!({"seq": "x"})).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_payload"));
}

#[tokio::test]
async fn read_implies_delivered_but_delivered_never_moves_read() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    for n in 1..=2 {
        alice.request("message.send", send_data(c, &format!("d{n}"), "hi")).await;
    }
    bob.request("read", json!({"conversation_id": c, "seq": 2})).await;
    let view = p.alice.get(&format!("/v1/conversations/{c}")).await.body;
    let bob_member = view["members"].as_array().unwrap().iter().find(|m| m["user_id"] == p.bob_session.user.id.as_str()).unwrap().clone();
    assert_eq!(bob_member["delivered_seq"], 2, "read moves delivered to at least that");
    bob.request("delivered", json!({"conversation_id": c, "seq": 1})).await;
    let _ = alice.event("receipt").await;
    let again = alice.event("receipt").await;
    assert_eq!((again["data"]["kind"].as_str(), again["data"]["seq"].as_i64()), (Some("delivered"), Some(2)));
}

//! The typing indicator and its 1 s throttle.

use std::time::Duration;

use rapport_testkit::{Gw, TestHub};
use serde_json::json;

use crate::support::{events, pair};

#[tokio::test]
async fn typing_reaches_the_others_once_per_second() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;

    let ack = alice.request("typing", json!({"conversation_id": c})).await;
    assert_eq!(ack["op"], "ack");
    let typing = bob.event("typing").await;
    assert_eq!(typing["data"], json!({"conversation_id": c, "user_id": p.alice_session.user.id, "expires_in_ms": 6000}));

    for _ in 0..5 {
        let again = alice.request("typing", json!({"conversation_id": c})).await;
        assert_eq!(again["op"], "ack", "throttled typing is still acknowledged");
    }
    let frames = bob.drain_for(Duration::from_millis(300)).await;
    assert_eq!(events(&frames, "typing").count(), 0, "repeats within 1 s are dropped");
    let own = alice.drain_for(Duration::from_millis(50)).await;
    assert_eq!(events(&own, "typing").count(), 0, "the typist does not get their own typing");

    tokio::time::sleep(Duration::from_millis(800)).await; // past the 1 s throttle window
    alice.request("typing", json!({"conversation_id": c})).await;
    bob.event("typing").await;
}

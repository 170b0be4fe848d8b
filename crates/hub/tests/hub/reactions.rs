//! 1.1 §1.2: reactions — idempotent, ordered by first use, at most 20 distinct emoji, one
//! emoji each, never on a tombstone, over the gateway and over REST.

use std::time::Duration;

use rapport_testkit::{percent_encode, Gw, TestHub};
use serde_json::json;

use crate::support::{code, events, pair, send, target};

#[tokio::test]
async fn reactions_are_idempotent_ordered_by_first_use_and_seen_by_everyone() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let m = send(&mut alice, c, "m", "We'd like to invite you to an interview").await;
    let (alice_id, bob_id) = (p.alice_session.user.id.as_str(), p.bob_session.user.id.as_str());

    let ack = bob.request("message.react", target(c, &m["id"], json!({"emoji": "🎉", "on": true}))).await;
    assert_eq!(ack["data"]["message"]["reactions"], json!([{"emoji": "🎉", "user_ids": [bob_id]}]), "{ack}");
    let event = alice.event("reaction").await;
    assert_eq!(event["data"], json!({"conversation_id": c, "message_id": m["id"], "user_id": bob_id, "emoji": "🎉", "on": true, "rev": 2}));

    alice.request("message.react", target(c, &m["id"], json!({"emoji": "👍", "on": true}))).await;
    alice.request("message.react", target(c, &m["id"], json!({"emoji": "🎉", "on": true}))).await;
    let again = bob.request("message.react", target(c, &m["id"], json!({"emoji": "🎉", "on": true}))).await;
    assert_eq!(again["data"]["message"]["rev"], 4, "reacting twice is idempotent: no rev");
    let rest = p.bob.call("PUT", &format!("/v1/conversations/{c}/messages/{}/reactions/{}", m["id"].as_str().unwrap(), percent_encode("👍")), None, &[]).await;
    assert_eq!(rest.status, 204, "{:?}", rest.body);

    let history = p.alice.get(&format!("/v1/conversations/{c}/messages")).await.body;
    assert_eq!(
        history["messages"][0]["reactions"],
        json!([{"emoji": "🎉", "user_ids": [bob_id, alice_id]}, {"emoji": "👍", "user_ids": [alice_id, bob_id]}]),
        "emoji by first use, users in the order they reacted"
    );
    let frames = alice.drain_for(Duration::from_millis(300)).await;
    assert_eq!(events(&frames, "reaction").count(), 3, "alice 👍, alice 🎉, bob 👍 (REST) — the repeat sent nothing");

    let off = bob.request("message.react", target(c, &m["id"], json!({"emoji": "🎉", "on": false}))).await;
    assert_eq!(
        off["data"]["message"]["reactions"],
        json!([{"emoji": "👍", "user_ids": [alice_id, bob_id]}, {"emoji": "🎉", "user_ids": [alice_id]}]),
        "ordered by the first use still standing: alice's 🎉 came after her 👍"
    );
    let rest = p.alice.call("DELETE", &format!("/v1/conversations/{c}/messages/{}/reactions/{}", m["id"].as_str().unwrap(), percent_encode("🎉")), None, &[]).await;
    assert_eq!(rest.status, 204);
    let twice = p.alice.call("DELETE", &format!("/v1/conversations/{c}/messages/{}/reactions/{}", m["id"].as_str().unwrap(), percent_encode("🎉")), None, &[]).await;
    assert_eq!(twice.status, 204, "taking back twice is idempotent too");
    let history = p.alice.get(&format!("/v1/conversations/{c}/messages")).await.body;
    assert_eq!(history["messages"][0]["reactions"], json!([{"emoji": "👍", "user_ids": [alice_id, bob_id]}]), "an emoji nobody uses any more disappears");
    let conversation = p.bob.get(&format!("/v1/conversations/{c}")).await.body;
    assert_eq!((conversation["last_seq"].as_i64(), conversation["unread_count"].as_i64()), (Some(1), Some(1)), "reactions change no seq and no unread count");
}

#[tokio::test]
async fn a_reaction_is_one_emoji_and_a_message_has_at_most_twenty() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (_, stranger) = hub.api().user("Eve Stranger", "candidate").await;
    let (mut eve, _) = Gw::ready(&hub.gateway_url(), &stranger.access_token).await;
    let m = send(&mut alice, c, "m", "react to me").await;
    for bad in [json!(""), json!("ok"), json!("👍👍"), json!(":Caps:"), json!(format!(":{}:", "a".repeat(40))), json!(5)] {
        let reply = alice.request("message.react", target(c, &m["id"], json!({"emoji": bad, "on": true}))).await;
        assert_eq!(code(&reply), "invalid_payload", "{bad} is not a reaction: {reply}");
    }
    assert_eq!(code(&alice.request("message.react", target(c, &m["id"], json!({"emoji": "👍"}))).await), "invalid_payload", "on is required");
    assert_eq!(code(&eve.request("message.react", target(c, &m["id"], json!({"emoji": "👍", "on": true}))).await), "not_found");

    for n in 0..20 {
        let reply = alice.request("message.react", target(c, &m["id"], json!({"emoji": format!(":e{n}:"), "on": true}))).await;
        assert_eq!(reply["op"], "ack", "{reply}");
    }
    let too_many = alice.request("message.react", target(c, &m["id"], json!({"emoji": ":e20:", "on": true}))).await;
    assert_eq!(code(&too_many), "invalid_payload", "a 21st distinct emoji: {too_many}");
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let join = bob.request("message.react", target(c, &m["id"], json!({"emoji": ":e3:", "on": true}))).await;
    assert_eq!(join["op"], "ack", "joining an existing emoji is fine at 20: {join}");
    let rest = p.alice.call("PUT", &format!("/v1/conversations/{c}/messages/{}/reactions/hello", m["id"].as_str().unwrap()), None, &[]).await;
    assert_eq!((rest.status, rest.code()), (400, "invalid_payload"));
}

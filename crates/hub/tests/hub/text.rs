//! Text with U+0000: SQLite stores it, PostgreSQL cannot. Either way the answer is clear (stored,
//! or `invalid_payload`), never an internal error, and nothing else is lost with it.

use rapport_testkit::{Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

/// Stored as sent, or refused as invalid: the two answers a backend may give.
fn stored_or_refused(status: u16, code: &str) -> bool {
    status < 300 || (status, code) == (400, "invalid_payload")
}

#[tokio::test]
async fn a_nul_character_is_stored_or_refused_as_invalid_and_fails_alone() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    // Pipelined, so that the bad one shares a group commit with good ones.
    let before = alice.send_op("message.send", send_data(c, "before", "fine")).await;
    let bad = alice.send_op("message.send", send_data(c, "nul", "a\u{0}b")).await;
    let after = alice.send_op("message.send", send_data(c, "after", "fine")).await;
    let before = alice.reply_to(&before).await;
    let bad = alice.reply_to(&bad).await;
    let after = alice.reply_to(&after).await;
    assert_eq!((before["op"].as_str(), after["op"].as_str()), (Some("ack"), Some("ack")), "the others are stored: {before} {after}");
    let history = p.bob.get(&format!("/v1/conversations/{c}/messages")).await.body;
    let bodies: Vec<&str> = history["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    match bad["op"].as_str() {
        Some("ack") => {
            assert_eq!(bad["data"]["message"]["body"], "a\u{0}b", "stored as sent");
            assert_eq!(bodies, ["fine", "a\u{0}b", "fine"]);
        }
        _ => {
            assert_eq!(bad["error"]["code"], "invalid_payload", "refused as invalid, not as an internal error: {bad}");
            assert_eq!(bodies, ["fine", "fine"], "and without a gap: {history}");
            assert_eq!(after["data"]["message"]["seq"], 2);
        }
    }

    let api = hub.api();
    let register = api
        .post("/v1/auth/register", json!({"email": "nul@example.test", "password": "correct horse", "display_name": "N\u{0}ul", "role": "candidate"}))
        .await;
    assert!(stored_or_refused(register.status, register.code()), "register: {:?}", register.body);
    let search = p.alice.get("/v1/users?q=%00").await;
    assert!(stored_or_refused(search.status, search.code()), "search: {:?}", search.body);
    let conversation = p.alice.get("/v1/conversations/%00").await;
    assert!(
        matches!((conversation.status, conversation.code()), (404, "not_found") | (400, "invalid_payload")),
        "a conversation id with U+0000: {:?}",
        conversation.body
    );
}

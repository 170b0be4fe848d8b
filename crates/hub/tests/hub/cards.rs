//! Job and application status cards on messages (1.1, §3): who may send which, and what is
//! refused.

use rapport_testkit::{Gw, TestHub};
use serde_json::{json, Value};

use crate::support::{code, events, pair, send_data};

fn with_card(conversation_id: &str, client_msg_id: &str, body: &str, card: Value) -> Value {
    let mut data = send_data(conversation_id, client_msg_id, body);
    data["card"] = card;
    data
}

fn job() -> Value {
    json!({"title": "Senior Rust engineer", "company": "Acme", "location": "Berlin", "salary": "90k €", "url": "https://jobs.acme.test/42", "description": "Hub and engine."})
}

#[tokio::test]
async fn a_recruiter_shares_a_job_card_and_the_candidate_answers_it_quoting_the_card() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let c = p.conversation.id.as_str();

    let ack = alice.request("message.send", with_card(c, "job-1", "", job())).await;
    assert_eq!(ack["op"], "ack", "{ack}");
    let card_message = ack["data"]["message"].clone();
    assert_eq!((card_message["kind"].as_str(), card_message["body"].as_str()), (Some("job"), Some("")), "a card may come without a body");
    assert_eq!(card_message["card"], job(), "the card is stored as sent");
    let created = bob.event("message.created").await;
    assert_eq!(created["data"]["message"], card_message, "the candidate sees the same card live");

    let answer = json!({"conversation_id": c, "client_msg_id": "answer-1", "body": "Interested", "reply_to": card_message["id"]});
    let ack = bob.request("message.send", answer).await;
    assert_eq!(ack["op"], "ack", "{ack}");
    assert_eq!((ack["data"]["message"]["kind"].as_str(), &ack["data"]["message"]["reply_to"]), (Some("text"), &card_message["id"]), "a quick reply is a normal message quoting the card");

    let history = p.alice.get(&format!("/v1/conversations/{c}/messages")).await.body;
    assert_eq!(history["messages"][0]["card"], job(), "history keeps the card");
    let list = p.bob.get("/v1/conversations").await.body;
    assert_eq!(list["conversations"][0]["last_message"]["body"], "Interested");
}

#[tokio::test]
async fn the_hub_announces_cards_templates_and_scheduled_sends() {
    let hub = TestHub::start().await;
    let hello = Gw::connect(&hub.gateway_url()).await.hello;
    for feature in ["cards", "templates", "scheduled"] {
        assert!(hello["data"]["features"].as_array().unwrap().iter().any(|f| f == feature), "{feature} in {hello}");
    }
}

#[tokio::test]
async fn bad_cards_and_cards_from_candidates_are_refused_and_nothing_is_stored() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let c = p.conversation.id.as_str();
    let status = json!({"job_title": "Senior Rust engineer", "status": "interview"});

    let from_candidate = bob.request("message.send", with_card(c, "b1", "", job())).await;
    assert_eq!(code(&from_candidate), "forbidden", "a candidate cannot send a job card: {from_candidate}");
    assert!(from_candidate["error"]["message"].as_str().unwrap().contains("recruiters"));
    assert_eq!(code(&bob.request("message.send", with_card(c, "b2", "", status.clone())).await), "forbidden");

    let mut unknown_kind = job();
    unknown_kind["kind"] = json!("promotion");
    let mut mixed = job();
    mixed["status"] = json!("applied");
    let cases = [
        ("unknown status", json!({"job_title": "x", "status": "promoted"})),
        ("unknown kind", unknown_kind),
        ("two kinds at once", mixed),
        ("no card shape", json!({"headline": "x"})),
        ("not an object", json!("job")),
        ("empty title", json!({"title": " ", "company": "Acme"})),
        ("no company", json!({"title": "Engineer"})),
        ("not a web link", json!({"title": "Engineer", "company": "Acme", "url": "javascript:alert(1)"})),
        ("a line break in the title", json!({"title": "Engi\nneer", "company": "Acme"})),
        ("an over-long title", json!({"title": "x".repeat(201), "company": "Acme"})),
        ("an empty status job title", json!({"job_title": "", "status": "offer"})),
    ];
    for (i, (why, card)) in cases.into_iter().enumerate() {
        let reply = alice.request("message.send", with_card(c, &format!("bad-{i}"), "", card)).await;
        assert_eq!(code(&reply), "invalid_payload", "{why}: {reply}");
    }
    let without_card = alice.request("message.send", send_data(c, "empty", "")).await;
    assert_eq!(code(&without_card), "body_empty", "only a card or attachments allow an empty body");

    let seen = bob.drain_for(std::time::Duration::from_millis(300)).await;
    assert_eq!(events(&seen, "message.created").count(), 0, "nothing refused reached the candidate");
    assert_eq!(p.alice.get(&format!("/v1/conversations/{c}")).await.body["last_seq"], 0, "nothing was stored");
}

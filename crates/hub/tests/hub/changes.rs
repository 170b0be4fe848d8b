//! 1.1 §1.3: the change counter `rev` and `changed_after_rev`, so that a client that was away
//! learns every edit, deletion and reaction it missed, not only new messages; and `reply_to`.

use rapport_testkit::{Gw, TestHub};
use serde_json::{json, Value};

use crate::support::{code, pair, send, target};

#[tokio::test]
async fn changed_after_rev_pages_through_every_change_in_rev_order() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(send(&mut alice, c, &format!("m{n}"), &format!("message {n}")).await["id"].clone());
    }
    // What Bob's offline client last saw: rev 6. Then: an edit of m1, a reaction on m0, a
    // deletion of m3, a new message, an edit of m1 again.
    alice.request("message.edit", target(c, &ids[1], json!({"body": "message 1, fixed"}))).await; // rev 7
    alice.request("message.react", target(c, &ids[0], json!({"emoji": "👍", "on": true}))).await; // rev 8
    alice.request("message.delete", target(c, &ids[3], json!({}))).await; // rev 9
    send(&mut alice, c, "m6", "message 6").await; // rev 10
    alice.request("message.edit", target(c, &ids[1], json!({"body": "message 1, fixed twice"}))).await; // rev 11

    let page = |after: i64, limit: u32| {
        let api = p.bob.clone();
        let path = format!("/v1/conversations/{c}/messages?changed_after_rev={after}&limit={limit}");
        async move { api.get(&path).await.body }
    };
    let revs = |page: &Value| page["messages"].as_array().unwrap().iter().map(|m| m["rev"].as_i64().unwrap()).collect::<Vec<_>>();
    let first = page(6, 2).await;
    assert_eq!(revs(&first), vec![8, 9], "m1's edit at rev 7 was overtaken by its rev 11: each message once, at its latest rev");
    assert_eq!(first["has_more"], true);
    assert!(first["messages"][1]["deleted_at"].is_string(), "the tombstone comes as a change");
    let second = page(9, 2).await;
    assert_eq!(revs(&second), vec![10, 11]);
    assert_eq!(second["messages"][1]["body"], "message 1, fixed twice");
    assert_eq!(second["has_more"], false);
    assert_eq!(revs(&page(0, 200).await), vec![3, 5, 6, 8, 9, 10, 11], "from the start: every message at its latest rev");
    assert_eq!(revs(&page(11, 50).await), Vec::<i64>::new());
    assert_eq!(p.bob.get(&format!("/v1/conversations/{c}")).await.body["last_rev"], 11);

    for bad in ["changed_after_rev=-1", "changed_after_rev=1&after_seq=1", "changed_after_rev=x", "before_seq=1&changed_after_rev=2"] {
        let reply = p.bob.get(&format!("/v1/conversations/{c}/messages?{bad}")).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "{bad}");
    }
    let (stranger, _) = hub.api().user("Eve Stranger", "candidate").await;
    assert_eq!(stranger.get(&format!("/v1/conversations/{c}/messages?changed_after_rev=0")).await.status, 404);
}

#[tokio::test]
async fn a_reply_names_a_message_of_the_same_conversation() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (_, carol) = hub.api().user("Carol Candidate", "candidate").await;
    let elsewhere = p.alice.direct(&carol.user.id).await.id;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let question = send(&mut alice, c, "q", "When can you start?").await;
    let other = send(&mut alice, &elsewhere, "o", "Hello Carol").await;

    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let answer = bob.request("message.send", json!({"conversation_id": c, "client_msg_id": "a", "body": "In March", "reply_to": question["id"]})).await;
    assert_eq!(answer["data"]["message"]["reply_to"], question["id"], "{answer}");
    let seen = alice.find(|f| f["type"] == "message.created" && f["data"]["message"]["client_msg_id"] == "a").await.expect("the answer");
    assert_eq!(seen["data"]["message"]["reply_to"], question["id"], "members see the reply_to");
    for bad in [other["id"].clone(), json!("no-such-message"), json!(3)] {
        let reply = bob.request("message.send", json!({"conversation_id": c, "client_msg_id": format!("bad-{bad}"), "body": "x", "reply_to": bad})).await;
        assert_eq!(code(&reply), "invalid_payload", "reply_to {bad}: {reply}");
    }
    let history = p.bob.get(&format!("/v1/conversations/{c}/messages")).await.body;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2, "the refused replies stored nothing");

    let features = &Gw::connect(&hub.gateway_url()).await.hello["data"]["features"];
    assert_eq!(
        features,
        &json!(["edit", "delete", "reactions", "replies", "attachments", "cards", "templates", "scheduled", "poll"]),
        "hello says what is served, and only that"
    );
}

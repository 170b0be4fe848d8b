//! Conversations over REST: creation, listing, authorisation, history paging.

use rapport_testkit::{Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

#[tokio::test]
async fn a_pair_has_one_direct_conversation_and_both_members_hear_of_it() {
    let hub = TestHub::start().await;
    let (alice, a) = hub.api().user("Alice", "recruiter").await;
    let (bob, b) = hub.api().user("Bob", "candidate").await;
    let (mut bob_gw, _) = Gw::ready(&hub.gateway_url(), &b.access_token).await;

    let created = alice.post("/v1/conversations", json!({"kind": "direct", "user_id": b.user.id})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let c = &created.body;
    assert_eq!(c["kind"], "direct");
    assert!(c["title"].is_null(), "direct conversations have a null title");
    assert_eq!(c["last_seq"], 0);
    assert!(c["last_message"].is_null());
    assert_eq!(c["unread_count"], 0);
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'), "RFC 3339 UTC");
    let members: Vec<&str> = c["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
    assert!(members.contains(&a.user.id.as_str()) && members.contains(&b.user.id.as_str()) && members.len() == 2);
    assert!(c["members"][0]["display_name"].is_string() && c["members"][0]["read_seq"] == 0 && c["members"][0]["delivered_seq"] == 0);

    let event = bob_gw.event("conversation.created").await;
    assert_eq!(event["data"]["conversation"]["id"], c["id"], "the other member hears of it live");

    let again = alice.post("/v1/conversations", json!({"kind": "direct", "user_id": b.user.id})).await;
    assert_eq!((again.status, &again.body["id"]), (200, &c["id"]), "same pair → 200 and the same conversation");
    let reverse = bob.post("/v1/conversations", json!({"kind": "direct", "user_id": a.user.id})).await;
    assert_eq!((reverse.status, &reverse.body["id"]), (200, &c["id"]), "the pair is unordered");
    let frames = bob_gw.drain_for(std::time::Duration::from_millis(200)).await;
    assert!(crate::support::events(&frames, "conversation.created").next().is_none(), "no event for an existing conversation");
}

#[tokio::test]
async fn concurrent_direct_creation_yields_one_conversation() {
    let hub = TestHub::start().await;
    let (alice, _) = hub.api().user("Alice", "recruiter").await;
    let (bob, b) = hub.api().user("Bob", "candidate").await;
    let a_id = alice.get("/v1/me").await.body["id"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (api, other) = if i % 2 == 0 { (alice.clone(), b.user.id.clone()) } else { (bob.clone(), a_id.clone()) };
        tasks.push(tokio::spawn(async move { api.direct(&other).await.id }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "the database keeps one direct conversation per pair: {ids:?}");
}

#[tokio::test]
async fn groups_include_the_creator_and_reject_bad_members() {
    let hub = TestHub::start().await;
    let (alice, a) = hub.api().user("Alice", "recruiter").await;
    let (_, b) = hub.api().user("Bob", "candidate").await;
    let (_, c) = hub.api().user("Cid", "candidate").await;
    let group = alice
        .post("/v1/conversations", json!({"kind": "group", "title": " Hiring ", "member_ids": [b.user.id, c.user.id, b.user.id, a.user.id]}))
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    assert_eq!(group.body["title"], "Hiring");
    assert_eq!(group.body["members"].as_array().unwrap().len(), 3, "creator included, duplicates removed");
    let unknown = alice.post("/v1/conversations", json!({"kind": "group", "title": "T", "member_ids": ["nope"]})).await;
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    let untitled = alice.post("/v1/conversations", json!({"kind": "group", "title": "", "member_ids": []})).await;
    assert_eq!((untitled.status, untitled.code()), (400, "invalid_payload"));
    let bad_kind = alice.post("/v1/conversations", json!({"kind": "channel"})).await;
    assert_eq!((bad_kind.status, bad_kind.code()), (400, "invalid_payload"));
    let to_self = alice.post("/v1/conversations", json!({"kind": "direct", "user_id": a.user.id})).await;
    assert_eq!((to_self.status, to_self.code()), (400, "invalid_payload"));
    let to_nobody = alice.post("/v1/conversations", json!({"kind": "direct", "user_id": "no-such-user"})).await;
    assert_eq!((to_nobody.status, to_nobody.code()), (404, "not_found"));
    assert_eq!(alice.get("/v1/conversations").await.body["conversations"].as_array().unwrap().len(), 1, "failed creations left nothing");
}

#[tokio::test]
async fn non_members_cannot_tell_a_conversation_exists() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mallory, m) = hub.api().user("Mallory", "candidate").await;
    let id = &p.conversation.id;
    let theirs = mallory.get(&format!("/v1/conversations/{id}")).await;
    let missing = mallory.get("/v1/conversations/does-not-exist").await;
    assert_eq!((theirs.status, theirs.code()), (404, "not_found"));
    assert_eq!(theirs.body, missing.body, "a foreign id and a missing id must look the same");
    for path in [format!("/v1/conversations/{id}/messages"), "/v1/conversations/%2E%2E/messages".to_owned()] {
        assert_eq!(mallory.get(&path).await.status, 404, "{path}");
    }
    let read = mallory.post(&format!("/v1/conversations/{id}/read"), json!({"seq": 1})).await;
    assert_eq!((read.status, read.code()), (404, "not_found"));

    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &m.access_token).await;
    for (op, data) in [
        ("message.send", send_data(id, "m1", "hi")),
        ("typing", json!({"conversation_id": id})),
        ("read", json!({"conversation_id": id, "seq": 1})),
        ("delivered", json!({"conversation_id": id, "seq": 1})),
    ] {
        let reply = gw.request(op, data).await;
        assert_eq!((&reply["op"], &reply["error"]["code"]), (&json!("error"), &json!("not_found")), "{op}");
    }
    let history = p.alice.get(&format!("/v1/conversations/{id}/messages")).await;
    assert_eq!(history.body["messages"].as_array().unwrap().len(), 0, "nothing was stored for the intruder");
}

#[tokio::test]
async fn history_pages_are_ascending_with_has_more_in_the_paging_direction() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    for n in 1..=7 {
        let ack = gw.request("message.send", send_data(&p.conversation.id, &format!("c{n}"), &format!("message {n}"))).await;
        assert_eq!(ack["data"]["message"]["seq"], n);
    }
    let base = format!("/v1/conversations/{}/messages", p.conversation.id);
    let page = |query: &'static str| {
        let api = p.bob.clone();
        let url = format!("{base}{query}");
        async move {
            let reply = api.get(&url).await;
            assert_eq!(reply.status, 200, "{url}: {:?}", reply.body);
            let seqs: Vec<i64> = reply.body["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
            (seqs, reply.body["has_more"].as_bool().unwrap())
        }
    };
    assert_eq!(page("").await, (vec![1, 2, 3, 4, 5, 6, 7], false));
    assert_eq!(page("?limit=3").await, (vec![5, 6, 7], true), "latest page: older ones remain");
    assert_eq!(page("?before_seq=5&limit=3").await, (vec![2, 3, 4], true));
    assert_eq!(page("?before_seq=2&limit=3").await, (vec![1], false));
    assert_eq!(page("?after_seq=0&limit=3").await, (vec![1, 2, 3], true));
    assert_eq!(page("?after_seq=4&limit=3").await, (vec![5, 6, 7], false));
    assert_eq!(page("?after_seq=7").await, (vec![], false));
    assert_eq!(page("?limit=500").await.0.len(), 7, "limits above 200 are capped, not refused");
    for bad in ["?after_seq=1&before_seq=5", "?limit=0", "?after_seq=-1", "?after_seq=x"] {
        let reply = p.bob.get(&format!("{base}{bad}")).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "{bad}");
    }
    let m = &p.bob.get(&format!("{base}?limit=1")).await.body["messages"][0];
    for field in ["id", "conversation_id", "seq", "sender_id", "body", "client_msg_id", "created_at"] {
        assert!(!m[field].is_null(), "Message has {field}: {m}");
    }
}

#[tokio::test]
async fn conversations_are_listed_by_recent_activity_with_unread_counts() {
    let hub = TestHub::start().await;
    let (alice, a) = hub.api().user("Alice", "recruiter").await;
    let (bob, b) = hub.api().user("Bob", "candidate").await;
    let (_, c) = hub.api().user("Cid", "candidate").await;
    let with_bob = alice.direct(&b.user.id).await;
    let with_cid = alice.direct(&c.user.id).await;
    let ids = |body: serde_json::Value| -> Vec<String> {
        body["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(alice.get("/v1/conversations").await.body), vec![with_cid.id.clone(), with_bob.id.clone()]);
    let (mut bob_gw, _) = Gw::ready(&hub.gateway_url(), &b.access_token).await;
    for n in 0..3 {
        bob_gw.request("message.send", send_data(&with_bob.id, &format!("b{n}"), "hello")).await;
    }
    let listed = alice.get("/v1/conversations").await.body;
    assert_eq!(ids(listed.clone()), vec![with_bob.id.clone(), with_cid.id.clone()], "a new message moves it to the top");
    assert_eq!(listed["conversations"][0]["unread_count"], 3);
    assert_eq!(listed["conversations"][0]["last_seq"], 3);
    assert_eq!(listed["conversations"][0]["last_message"]["seq"], 3);
    let bobs = bob.get(&format!("/v1/conversations/{}", with_bob.id)).await.body;
    assert_eq!(bobs["unread_count"], 0, "your own messages are never unread");
    let me = bobs["members"].as_array().unwrap().iter().find(|m| m["user_id"] == b.user.id.as_str()).unwrap().clone();
    assert_eq!((me["read_seq"].as_i64(), me["delivered_seq"].as_i64()), (Some(3), Some(3)), "sending moves the sender's own receipts");
    let _ = a;
}

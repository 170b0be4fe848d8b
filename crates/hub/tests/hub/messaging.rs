//! Sending: delivery to every session, idempotent resends, gap-free seq under concurrency.

use std::collections::HashMap;
use std::time::Duration;

use rapport_testkit::{Gw, TestHub};
use serde_json::{json, Value};

use crate::support::{events, pair, send_data};

#[tokio::test]
async fn two_users_exchange_messages_and_every_session_gets_them() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut alice_laptop, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;

    let ack = alice.request("message.send", send_data(c, "hello-1", "Hi Bob, are you open to a new role?")).await;
    assert_eq!(ack["op"], "ack", "{ack}");
    let sent = ack["data"]["message"].clone();
    assert_eq!((sent["seq"].as_i64(), sent["sender_id"].as_str()), (Some(1), Some(p.alice_session.user.id.as_str())));
    assert_eq!(sent["client_msg_id"], "hello-1");

    let received = bob.event("message.created").await;
    assert_eq!(received["data"]["message"], sent, "the recipient sees exactly the stored message");
    assert_eq!(alice_laptop.event("message.created").await["data"]["message"]["id"], sent["id"], "the sender's other devices too");
    assert_eq!(alice.event("message.created").await["data"]["message"]["id"], sent["id"], "and the sending session itself");

    let reply = bob.request("message.send", send_data(c, "reply-1", "Yes, tell me more")).await;
    assert_eq!(reply["data"]["message"]["seq"], 2);
    assert_eq!(alice.event("message.created").await["data"]["message"]["body"], "Yes, tell me more");
}

#[tokio::test]
async fn a_resend_with_the_same_client_msg_id_is_stored_once() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let first = alice.request("message.send", send_data(c, "same-id", "once")).await;
    let second = alice.request("message.send", send_data(c, "same-id", "once")).await;
    assert_eq!(first, json!({"op": "ack", "ref": first["ref"], "data": first["data"]}));
    assert_eq!(first["data"], second["data"], "same ack: same id, same seq");
    // From another device of the same sender, concurrently, still once.
    let (mut alice2, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let third = alice2.request("message.send", send_data(c, "same-id", "once")).await;
    assert_eq!(first["data"], third["data"]);

    let frames = bob.drain_for(Duration::from_millis(300)).await;
    assert_eq!(events(&frames, "message.created").count(), 1, "no second event for a resend");
    let history = p.bob.get(&format!("/v1/conversations/{c}/messages")).await.body;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1, "nothing stored twice");

    // The same client id from another sender is a different message.
    let bobs = bob.request("message.send", send_data(c, "same-id", "mine")).await;
    assert_eq!(bobs["data"]["message"]["seq"], 2);
}

#[tokio::test]
async fn concurrent_senders_get_gap_free_seq_and_events_arrive_in_seq_order() {
    const SENDERS: usize = 4;
    const EACH: usize = 40;
    let hub = TestHub::start().await;
    let api = hub.api();
    let mut users = Vec::new();
    for n in 0..SENDERS {
        users.push(api.user(&format!("Sender {n}"), "candidate").await);
    }
    let ids: Vec<String> = users.iter().skip(1).map(|(_, s)| s.user.id.clone()).collect();
    let group = users[0].0.post("/v1/conversations", json!({"kind": "group", "title": "Load", "member_ids": ids})).await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let (mut watcher, _) = Gw::ready(&hub.gateway_url(), &users[0].1.access_token).await;

    let mut tasks = Vec::new();
    for (n, (_, session)) in users.iter().enumerate() {
        let url = hub.gateway_url();
        let token = session.access_token.clone();
        let group_id = group_id.clone();
        tasks.push(tokio::spawn(async move {
            let (mut gw, _) = Gw::ready(&url, &token).await;
            let mut refs = Vec::new();
            for i in 0..EACH {
                refs.push(gw.send_op("message.send", send_data(&group_id, &format!("s{n}-{i}"), &format!("{n}/{i}"))).await);
            }
            let mut seqs = Vec::new();
            for r in refs {
                let ack = gw.reply_to(&r).await;
                assert_eq!(ack["op"], "ack", "{ack}");
                seqs.push(ack["data"]["message"]["seq"].as_i64().unwrap());
            }
            seqs
        }));
    }
    let mut all: Vec<i64> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let total = (SENDERS * EACH) as i64;
    assert_eq!(all, (1..=total).collect::<Vec<_>>(), "every seq used exactly once, no gap");

    let mut seen: Vec<i64> = Vec::new();
    while seen.len() < total as usize {
        let e = watcher.event("message.created").await;
        seen.push(e["data"]["message"]["seq"].as_i64().unwrap());
    }
    assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "on one session, a conversation's events arrive in seq order");

    let mut by_seq: HashMap<i64, Value> = HashMap::new();
    let mut after = 0;
    loop {
        let page = users[1].0.get(&format!("/v1/conversations/{group_id}/messages?after_seq={after}&limit=200")).await.body;
        for m in page["messages"].as_array().unwrap() {
            assert!(by_seq.insert(m["seq"].as_i64().unwrap(), m.clone()).is_none());
            after = m["seq"].as_i64().unwrap();
        }
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(by_seq.len(), total as usize, "REST history holds every message once");
}

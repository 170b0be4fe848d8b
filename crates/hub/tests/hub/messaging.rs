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
async fn a_client_msg_id_reused_in_another_conversation_is_another_message() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (_, carol) = hub.api().user("Carol Candidate", "candidate").await;
    let other = p.alice.direct(&carol.user.id).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut carol_gw, _) = Gw::ready(&hub.gateway_url(), &carol.access_token).await;
    let to_bob = alice.request("message.send", send_data(&p.conversation.id, "reused-id", "for Bob")).await;
    let to_carol = alice.request("message.send", send_data(&other.id, "reused-id", "for Carol")).await;
    let message = &to_carol["data"]["message"];
    assert_eq!(
        (message["conversation_id"].as_str(), message["body"].as_str(), message["seq"].as_i64()),
        (Some(other.id.as_str()), Some("for Carol"), Some(1)),
        "stored in the conversation it was sent to, not answered with Bob's message: {to_carol}"
    );
    assert_ne!(message["id"], to_bob["data"]["message"]["id"]);
    let created = carol_gw.event("message.created").await;
    assert_eq!(created["data"]["message"]["body"], "for Carol", "and announced there");
    // A resend is still recognised in each conversation.
    let again = alice.request("message.send", send_data(&other.id, "reused-id", "for Carol")).await;
    assert_eq!(again["data"], to_carol["data"], "a resend in the same conversation answers the first");
    let again = alice.request("message.send", send_data(&p.conversation.id, "reused-id", "for Bob")).await;
    assert_eq!(again["data"], to_bob["data"]);
    let history = p.alice.get(&format!("/v1/conversations/{}/messages", other.id)).await.body;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1, "stored once");
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

/// Group commit: many pipelined senders in overlapping conversations, so that batches mix
/// conversations, senders and resends.
#[tokio::test]
async fn many_senders_in_several_conversations_keep_every_rule_of_message_send() {
    const EACH: usize = 15;
    let hub = TestHub::start().await;
    let api = hub.api();
    let mut users = Vec::new();
    for n in 0..6 {
        users.push(api.user(&format!("User {n}"), "candidate").await);
    }
    let id = |n: usize| users[n].1.user.id.clone();
    let group = |owner: usize, others: &[usize], title: &str| {
        let body = json!({"kind": "group", "title": title, "member_ids": others.iter().map(|&n| id(n)).collect::<Vec<_>>()});
        let api = users[owner].0.clone();
        async move { api.post("/v1/conversations", body).await.body["id"].as_str().unwrap().to_owned() }
    };
    let a = group(0, &[1, 2, 3], "A").await;
    let b = group(2, &[3, 4, 5], "B").await;
    let d = users[0].0.direct(&id(5)).await.id;
    // Who sends where; user 2 also sends its B messages a second time from another device.
    let plan: Vec<(usize, Vec<(&str, &str)>)> = vec![
        (0, vec![("A", a.as_str()), ("D", d.as_str())]),
        (1, vec![("A", a.as_str())]),
        (2, vec![("A", a.as_str()), ("B", b.as_str())]),
        (3, vec![("A", a.as_str()), ("B", b.as_str())]),
        (4, vec![("B", b.as_str())]),
        (5, vec![("B", b.as_str()), ("D", d.as_str())]),
        (2, vec![("B", b.as_str())]),
    ];
    let totals: HashMap<&str, i64> =
        [(a.as_str(), 4 * EACH as i64), (b.as_str(), 4 * EACH as i64), (d.as_str(), 2 * EACH as i64)].into();
    // Watchers, ready before anything is sent: user 2 sees A and B, user 0 sees A and D.
    let (mut watch2, _) = Gw::ready(&hub.gateway_url(), &users[2].1.access_token).await;
    let (mut watch0, _) = Gw::ready(&hub.gateway_url(), &users[0].1.access_token).await;

    let mut tasks = Vec::new();
    for (n, targets) in plan {
        let url = hub.gateway_url();
        let token = users[n].1.access_token.clone();
        let rest = users[n].0.clone();
        let targets: Vec<(String, String)> = targets.iter().map(|(l, c)| (l.to_string(), c.to_string())).collect();
        tasks.push(tokio::spawn(async move {
            let (mut gw, _) = Gw::ready(&url, &token).await;
            let mut refs = Vec::new();
            for i in 0..EACH {
                for (label, conversation) in &targets {
                    let client_msg_id = format!("u{n}-{label}-{i}");
                    refs.push((conversation.clone(), client_msg_id.clone(), gw.send_op("message.send", send_data(conversation, &client_msg_id, "hi")).await));
                }
            }
            // A resend of the first message, queued right behind the others.
            let (first_conversation, first_id, _) = refs[0].clone();
            refs.push((first_conversation.clone(), first_id, gw.send_op("message.send", send_data(&first_conversation, &refs[0].1, "hi")).await));
            let mut acks = Vec::new();
            for (conversation, client_msg_id, r) in refs {
                let ack = gw.reply_to(&r).await;
                assert_eq!(ack["op"], "ack", "{ack}");
                let message = ack["data"]["message"].clone();
                assert_eq!((message["conversation_id"].as_str(), message["client_msg_id"].as_str()), (Some(conversation.as_str()), Some(client_msg_id.as_str())));
                if n == 1 {
                    // The ack comes after the commit: the message is readable at once.
                    let seq = message["seq"].as_i64().unwrap();
                    let page = rest.get(&format!("/v1/conversations/{conversation}/messages?after_seq={}&limit=1", seq - 1)).await.body;
                    assert_eq!(page["messages"][0]["id"], message["id"], "acked means stored");
                }
                acks.push(message);
            }
            let resend = acks.pop().unwrap();
            assert_eq!(resend, acks[0], "a resend is answered with the stored message");
            acks
        }));
    }
    let mut by_key: HashMap<String, Value> = HashMap::new();
    let mut seqs: HashMap<String, Vec<i64>> = HashMap::new();
    for task in tasks {
        for message in task.await.unwrap() {
            let key = format!("{}/{}", message["sender_id"].as_str().unwrap(), message["client_msg_id"].as_str().unwrap());
            if let Some(other) = by_key.insert(key, message.clone()) {
                assert_eq!(other, message, "both devices get the same ack for the same client id");
                continue;
            }
            seqs.entry(message["conversation_id"].as_str().unwrap().to_owned()).or_default().push(message["seq"].as_i64().unwrap());
        }
    }
    for (conversation, total) in &totals {
        let mut got = seqs.remove(*conversation).unwrap();
        got.sort();
        assert_eq!(got, (1..=*total).collect::<Vec<_>>(), "gap-free seqs, each used once");
    }

    for (watcher, watched) in [(&mut watch2, [a.as_str(), b.as_str()]), (&mut watch0, [a.as_str(), d.as_str()])] {
        let expected: i64 = watched.iter().map(|c| totals[c]).sum();
        let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
        for _ in 0..expected {
            let message = watcher.event("message.created").await["data"]["message"].clone();
            seen.entry(message["conversation_id"].as_str().unwrap().to_owned()).or_default().push(message["seq"].as_i64().unwrap());
        }
        for c in watched {
            assert_eq!(seen[c], (1..=totals[c]).collect::<Vec<_>>(), "a conversation's events arrive in seq order, once each");
        }
        let extra = watcher.drain_for(Duration::from_millis(300)).await;
        assert_eq!(events(&extra, "message.created").count(), 0, "resends are not announced again");
    }
}

/// The reader goes on reading while sends commit: a pipelined burst is answered in order, one
/// reply per ref, and a bad send in the middle fails alone.
#[tokio::test]
async fn pipelined_sends_of_one_connection_are_acked_in_order() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let mut refs = Vec::new();
    for i in 0..60 {
        let conversation = if i == 30 { "no-such-conversation" } else { c };
        refs.push(alice.send_op("message.send", send_data(conversation, &format!("p{i}"), "burst")).await);
    }
    let mut replies = Vec::new();
    while replies.len() < refs.len() {
        let frame = alice.next_frame().await;
        if frame["op"] == "ack" || frame["op"] == "error" {
            replies.push(frame);
        }
    }
    let answered: Vec<&Value> = replies.iter().map(|r| &r["ref"]).collect();
    assert_eq!(answered, refs.iter().collect::<Vec<_>>(), "one reply per ref, in the order sent");
    assert_eq!(replies[30]["error"]["code"], "not_found");
    let seqs: Vec<i64> = replies.iter().filter(|r| r["op"] == "ack").map(|r| r["data"]["message"]["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=59).collect::<Vec<_>>(), "one connection's messages keep their order");
}

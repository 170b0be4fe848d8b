//! PostgreSQL only: hubs sharing one database, and the database restarting under a hub. Each
//! test is skipped, with a note on stderr, when `RAPPORT_TEST_POSTGRES` names no server (the
//! rest of the suite then runs on SQLite); CI always names one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rapport_testkit::{on_postgres_or_skip, Api, Gw, HubProcess, PostgresCluster};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::support::send_data;

/// Every message of a conversation, ascending, read through `api` page by page.
pub async fn history(api: &Api, conversation_id: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let page = api.get(&format!("/v1/conversations/{conversation_id}/messages?after_seq={after}&limit=200")).await;
        assert_eq!(page.status, 200, "history: {:?}", page.body);
        for m in page.body["messages"].as_array().unwrap() {
            after = m["seq"].as_i64().unwrap();
            messages.push(m.clone());
        }
        if !page.body["has_more"].as_bool().unwrap() {
            return messages;
        }
    }
}

/// Asserts that the history is gap-free and holds each client id once; returns it by client id.
pub fn by_client_id(history: &[Value]) -> HashMap<String, Value> {
    let seqs: Vec<i64> = history.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=history.len() as i64).collect::<Vec<_>>(), "seqs are gap-free and each used once");
    let mut by_key = HashMap::new();
    for m in history {
        let key = m["client_msg_id"].as_str().unwrap().to_owned();
        assert!(by_key.insert(key.clone(), m.clone()).is_none(), "client id {key} is stored twice");
    }
    by_key
}

#[tokio::test]
async fn two_hubs_sharing_one_database_give_gap_free_seqs_and_store_each_client_id_once() {
    if !on_postgres_or_skip("two_hubs_sharing_one_database_give_gap_free_seqs_and_store_each_client_id_once") {
        return;
    }
    const SENDERS: usize = 4;
    const EACH: usize = 40;
    let hub_a = HubProcess::start(&[]).await;
    let hub_b = HubProcess::start_beside(&hub_a, &[]).await;
    let api_a = Api::new(&hub_a.url());
    let mut users = Vec::new();
    for n in 0..SENDERS {
        users.push(api_a.user(&format!("Sender {n}"), "candidate").await);
    }
    let others: Vec<&str> = users[1..].iter().map(|(_, s)| s.user.id.as_str()).collect();
    let group = users[0].0.post("/v1/conversations", json!({"kind": "group", "title": "Two hubs", "member_ids": others})).await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_owned();

    // Each sender is connected to both hubs and pipelines on both at once: its own messages
    // to each hub, and every other message of hub A again to hub B with the same client id, as
    // a client does that resends to another hub after losing an ack.
    let mut tasks = Vec::new();
    for (n, (_, session)) in users.iter().enumerate() {
        let (url_a, url_b, token, group_id) = (hub_a.gateway_url(), hub_b.gateway_url(), session.access_token.clone(), group_id.clone());
        tasks.push(tokio::spawn(async move {
            let ((mut a, _), (mut b, _)) = tokio::join!(Gw::ready(&url_a, &token), Gw::ready(&url_b, &token));
            let mut on_a = Vec::new();
            let mut on_b = Vec::new();
            for i in 0..EACH {
                let key = format!("a{n}-{i}");
                on_a.push((key.clone(), a.send_op("message.send", send_data(&group_id, &key, "via A")).await));
                if i % 2 == 0 {
                    on_b.push((key.clone(), b.send_op("message.send", send_data(&group_id, &key, "via A")).await));
                }
                let key = format!("b{n}-{i}");
                on_b.push((key.clone(), b.send_op("message.send", send_data(&group_id, &key, "via B")).await));
            }
            let mut acks: Vec<(String, Value)> = Vec::new();
            for (gw, sent) in [(&mut a, on_a), (&mut b, on_b)] {
                for (key, r) in sent {
                    let ack = gw.reply_to(&r).await;
                    assert_eq!(ack["op"], "ack", "{key}: {ack}");
                    acks.push((key, ack["data"]["message"].clone()));
                }
            }
            acks
        }));
    }
    let mut acked: HashMap<String, Value> = HashMap::new();
    for task in tasks {
        for (key, message) in task.await.unwrap() {
            if let Some(first) = acked.insert(key.clone(), message.clone()) {
                assert_eq!(first, message, "{key} sent to both hubs is acked as one message (same id, same seq)");
            }
        }
    }
    let total = SENDERS * 2 * EACH;
    assert_eq!(acked.len(), total);
    let mut seqs: Vec<i64> = acked.values().map(|m| m["seq"].as_i64().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>(), "the acks of both hubs share one gap-free sequence");

    let stored = by_client_id(&history(&Api::new(&hub_b.url()).with_token(&users[1].1.access_token), &group_id).await);
    assert_eq!(stored, acked, "what both hubs acked is exactly what the database holds");
}

/// Waits (at most 30 s) until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one send came to.
enum SendAnswer {
    Acked(Value),
    Refused(Value),
}

#[tokio::test]
async fn restart_of_postgres_mid_traffic_loses_no_acked_message_and_the_hub_recovers_by_itself() {
    const TEST: &str = "restart_of_postgres_mid_traffic_loses_no_acked_message_and_the_hub_recovers_by_itself";
    if !on_postgres_or_skip(TEST) {
        return;
    }
    let Some(cluster) = PostgresCluster::or_skip(TEST) else { return };
    // A short acquire timeout, so that sends during the outage are refused quickly.
    let mut hub = HubProcess::start(&["--database-timeout", "1"]).await;
    let api = Api::new(&hub.url());
    let (alice, a) = api.user("Alice", "recruiter").await;
    let (_, b) = api.user("Bob", "candidate").await;
    let conversation_id = alice.direct(&b.user.id).await.id;

    // One session sends message after message for the whole test (at most 50 a second, half the
    // gateway's rate limit) and notes every answer.
    let outcomes: Arc<Mutex<Vec<(String, SendAnswer)>>> = Arc::default();
    let (stop, stopped) = watch::channel(false);
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    let sender = tokio::spawn({
        let (outcomes, conversation_id) = (outcomes.clone(), conversation_id.clone());
        async move {
            for n in 0.. {
                if *stopped.borrow() {
                    break;
                }
                let key = format!("k{n}");
                let reply = gw.request("message.send", send_data(&conversation_id, &key, "through a restart")).await;
                let outcome = match reply["op"].as_str() {
                    Some("ack") => SendAnswer::Acked(reply["data"]["message"].clone()),
                    _ => SendAnswer::Refused(reply),
                };
                outcomes.lock().push((key, outcome));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            gw
        }
    });
    let acks = || outcomes.lock().iter().filter(|(_, o)| matches!(o, SendAnswer::Acked(_))).count();
    let refusals = || outcomes.lock().iter().filter(|(_, o)| matches!(o, SendAnswer::Refused(_))).count();
    let readyz = || async { api.get("/readyz").await.status };

    until("traffic flows", || acks() >= 20).await;

    // Down, and held down: readiness and every kind of call say `unavailable`, nothing else.
    cluster.stop_immediately().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while readyz().await != 503 {
        assert!(tokio::time::Instant::now() < deadline, "/readyz turns 503 while PostgreSQL is down");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_before = refusals();
    until("a send is refused while PostgreSQL is down", || refusals() > refused_before).await;
    let rest = alice.get("/v1/conversations").await;
    assert_eq!((rest.status, rest.code()), (503, "unavailable"), "REST says unavailable too: {:?}", rest.body);

    // Back: the hub finds it without a restart of its own.
    cluster.start().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while readyz().await != 200 {
        assert!(tokio::time::Instant::now() < deadline, "/readyz turns 200 again once PostgreSQL is back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked_before = acks();
    until("sends are acked again", || acks() >= acked_before + 20).await;

    // And an immediate restart in one go, mid-traffic.
    cluster.restart_immediately().await;
    let acked_before = acks();
    until("sends are acked after the restart", || acks() >= acked_before + 20).await;
    stop.send(true).unwrap();
    let mut gw = sender.await.expect("the sender's one session served through both outages");
    assert!(hub.is_running(), "the hub recovered without being restarted");

    let outcomes = std::mem::take(&mut *outcomes.lock());
    let mut acked: HashMap<String, Value> = HashMap::new();
    let mut refused: Vec<String> = Vec::new();
    for (key, outcome) in outcomes {
        match outcome {
            SendAnswer::Acked(message) => {
                acked.insert(key, message);
            }
            SendAnswer::Refused(reply) => {
                assert_eq!(reply["error"]["code"], "unavailable", "a send during the outage is refused as retryable: {reply}");
                assert_eq!(reply["error"]["retry_after_ms"], 1000, "with a hint when to retry: {reply}");
                refused.push(key);
            }
        }
    }
    assert!(!refused.is_empty(), "some sends met the outage");
    // The client's part: resend what was refused, with the same client ids. A refused send may
    // have been committed before its answer was lost; it is then answered, not stored again.
    let mut resent: HashSet<String> = HashSet::new();
    for key in &refused {
        let ack = gw.request("message.send", send_data(&conversation_id, key, "through a restart")).await;
        assert_eq!(ack["op"], "ack", "a refused send goes through once retried: {ack}");
        acked.insert(key.clone(), ack["data"]["message"].clone());
        resent.insert(key.clone());
    }
    let stored = by_client_id(&history(&alice, &conversation_id).await);
    assert_eq!(stored.len(), acked.len(), "every send is stored, once");
    for (key, message) in &acked {
        assert_eq!(stored.get(key), Some(message), "{key} was acked, so it is stored as acked (resent: {})", resent.contains(key));
    }
}

/// The rev an event carries: the message's for `message.created` and `message.updated`, the
/// event's own for `message.deleted` and `reaction`.
fn rev_of(event: &Value) -> Option<i64> {
    match event["type"].as_str()? {
        "message.created" | "message.updated" => event["data"]["message"]["rev"].as_i64(),
        "message.deleted" | "reaction" => event["data"]["rev"].as_i64(),
        _ => None,
    }
}

/// Two hubs edit, delete, react and send in one conversation at once, and a member watches on
/// both. Without Redis each hub announces only its own changes, so the two watchers' revs
/// together must be 1..=last_rev, each once, in rev order per hub. With Redis between them (the
/// suite's run with `RAPPORT_TEST_REDIS`) every change reaches both hubs, but a hub that gets a
/// rev ahead of the next one reads what it missed from the database, where a change that a
/// later one superseded survives only as the message's newest state: so each watcher alone must
/// see no rev twice, reach last_rev, and end with every message at its database rev and state.
#[tokio::test]
async fn two_hubs_changing_one_conversation_at_once_keep_rev_gap_free() {
    if !on_postgres_or_skip("two_hubs_changing_one_conversation_at_once_keep_rev_gap_free") {
        return;
    }
    let hub_a = HubProcess::start(&[]).await;
    let hub_b = HubProcess::start_beside(&hub_a, &[]).await;
    let api = Api::new(&hub_a.url());
    let (alice, a) = api.user("Alice", "recruiter").await;
    let (_, b) = api.user("Bob", "candidate").await;
    let (_, c) = api.user("Carol", "candidate").await;
    let (_, w) = api.user("Watcher", "candidate").await;
    let group = alice.post("/v1/conversations", json!({"kind": "group", "title": "Revs", "member_ids": [&b.user.id, &c.user.id, &w.user.id]})).await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let (url_a, url_b) = (hub_a.gateway_url(), hub_b.gateway_url());
    let ((mut watch_a, _), (mut watch_b, _)) = tokio::join!(Gw::ready(&url_a, &w.access_token), Gw::ready(&url_b, &w.access_token));
    let (mut seed, _) = Gw::ready(&hub_a.gateway_url(), &a.access_token).await;
    let mut targets = Vec::new();
    for i in 0..5 {
        let ack = seed.request("message.send", send_data(&group_id, &format!("seed{i}"), "first words")).await;
        targets.push(ack["data"]["message"]["id"].as_str().unwrap().to_owned());
    }
    let doomed = targets[4].clone();

    // Every user on both hubs at once, each op pipelined: Alice edits every message from both
    // hubs (each body new, so each edit that is not refused is a change), sends more and
    // deletes one in the middle; Bob and Carol react and take reactions back from both hubs.
    let mut tasks = Vec::new();
    for (who, token) in [("alice", &a.access_token), ("bob", &b.access_token), ("carol", &c.access_token)] {
        for (hub, url) in [("A", hub_a.gateway_url()), ("B", hub_b.gateway_url())] {
            let (token, group_id, targets, doomed) = (token.clone(), group_id.clone(), targets.clone(), doomed.clone());
            tasks.push(tokio::spawn(async move {
                let (mut gw, _) = Gw::ready(&url, &token).await;
                let mut refs = Vec::new();
                for round in 0..6 {
                    for (i, message) in targets.iter().enumerate() {
                        let target = json!({"conversation_id": group_id, "message_id": message});
                        let (op, mut data) = if who == "alice" {
                            ("message.edit", json!({"body": format!("{hub} round {round} of {i}")}))
                        } else {
                            let emoji = ["👍", "🎉", "❤️"][(round + i) % 3];
                            ("message.react", json!({"emoji": emoji, "on": round % 2 == 0}))
                        };
                        data.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
                        refs.push(gw.send_op(op, data).await);
                    }
                    if who == "alice" {
                        refs.push(gw.send_op("message.send", send_data(&group_id, &format!("{hub}-new-{round}"), "more")).await);
                        if round == 3 && hub == "A" {
                            refs.push(gw.send_op("message.delete", json!({"conversation_id": group_id, "message_id": doomed})).await);
                        }
                    }
                }
                let mut refused = Vec::new();
                for r in refs {
                    let reply = gw.reply_to(&r).await;
                    if reply["op"] != "ack" {
                        refused.push(reply);
                    }
                }
                refused
            }));
        }
    }
    // And the hardest case: one user toggling one reaction on one message from both hubs at
    // once, so that the two hubs' transactions meet on the same row again and again.
    let hot = targets[0].clone();
    for hub in [hub_a.gateway_url(), hub_b.gateway_url()] {
        let (token, group_id, hot) = (c.access_token.clone(), group_id.clone(), hot.clone());
        tasks.push(tokio::spawn(async move {
            let (mut gw, _) = Gw::ready(&hub, &token).await;
            let mut refs = Vec::new();
            for round in 0..40 {
                refs.push(gw.send_op("message.react", json!({"conversation_id": group_id, "message_id": hot, "emoji": "🔥", "on": round % 3 != 2})).await);
            }
            let mut refused = Vec::new();
            for r in refs {
                let reply = gw.reply_to(&r).await;
                if reply["op"] != "ack" {
                    refused.push(reply);
                }
            }
            refused
        }));
    }
    for task in tasks {
        for reply in task.await.unwrap() {
            assert_eq!(reply["error"]["code"], "gone", "only changes to the deleted message may be refused: {reply}");
        }
    }

    let last_rev = alice.get(&format!("/v1/conversations/{group_id}")).await.body["last_rev"].as_i64().unwrap();
    let fanned_out = rapport_testkit::shared_redis().is_some();
    let mut seen: HashMap<i64, Value> = HashMap::new();
    let mut seen_by: [HashMap<i64, Value>; 2] = Default::default();
    let mut previous = [0; 2];
    let complete = |seen: &HashMap<i64, Value>, seen_by: &[HashMap<i64, Value>; 2]| {
        if fanned_out {
            seen_by.iter().all(|s| s.keys().max().is_some_and(|&newest| newest >= last_rev))
        } else {
            seen.len() as i64 >= last_rev
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !complete(&seen, &seen_by) && tokio::time::Instant::now() < deadline {
        for (i, watcher) in [&mut watch_a, &mut watch_b].into_iter().enumerate() {
            for event in watcher.drain_for(Duration::from_millis(200)).await {
                let Some(rev) = rev_of(&event) else { continue };
                if !fanned_out {
                    assert!(rev > previous[i], "one hub announces a conversation's changes in rev order: {rev} after {}", previous[i]);
                }
                previous[i] = rev;
                if let Some(twice) = seen_by[i].insert(rev, event.clone()) {
                    panic!("one session got rev {rev} twice: {twice} and {event}");
                }
                if seen.insert(rev, event.clone()).is_some() && !fanned_out {
                    panic!("rev {rev} was taken twice: {event}");
                }
            }
        }
    }
    if !fanned_out {
        let mut revs: Vec<i64> = seen.keys().copied().collect();
        revs.sort();
        assert_eq!(revs, (1..=last_rev).collect::<Vec<_>>(), "every rev up to last_rev taken once, none skipped ({} changes)", last_rev);
    }
    assert!(last_rev > 5 + 2 * 6 + 40, "the hubs really changed the messages concurrently: {last_rev} revs");

    // The database agrees with the events: each message's rev is that of its latest change.
    let mut changed = Vec::new();
    let mut after = 0;
    loop {
        let page = alice.get(&format!("/v1/conversations/{group_id}/messages?changed_after_rev={after}&limit=200")).await.body;
        for m in page["messages"].as_array().unwrap() {
            after = m["rev"].as_i64().unwrap();
            changed.push(m.clone());
        }
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(changed.len(), 5 + 2 * 6, "every message once, at its latest rev");
    let hot_now = changed.iter().find(|m| m["id"] == hot.as_str()).unwrap();
    let has_fire = |message: &Value| message["reactions"].as_array().unwrap().iter().any(|r| r["emoji"] == "🔥");
    let fire_now = has_fire(hot_now);
    let tombstone = changed.iter().find(|m| m["id"] == doomed.as_str()).unwrap();
    assert_eq!((tombstone["body"].as_str(), tombstone["reactions"].clone()), (Some(""), json!([])), "the deletion won: {tombstone}");

    // What each watcher was told (with Redis each hub told of every change; without, the two
    // together), replayed in rev order: every message ends at its database rev, and every
    // announced change of the contended 🔥 changed something and ends as the database has it.
    let views: Vec<(&str, &HashMap<i64, Value>)> = if fanned_out { vec![("hub A", &seen_by[0]), ("hub B", &seen_by[1])] } else { vec![("both hubs", &seen)] };
    let message_of = |event: &Value| event["data"]["message"]["id"].as_str().or(event["data"]["message_id"].as_str()).map(str::to_owned);
    for (name, events) in views {
        let mut revs: Vec<i64> = events.keys().copied().collect();
        revs.sort();
        let mut newest: HashMap<String, i64> = HashMap::new();
        let mut fire = false;
        for rev in &revs {
            let event = &events[rev];
            if let Some(id) = message_of(event) {
                newest.insert(id, *rev);
            }
            match event["type"].as_str() {
                Some("reaction") if event["data"]["message_id"] == hot.as_str() && event["data"]["emoji"] == "🔥" => {
                    assert_ne!(event["data"]["on"].as_bool(), Some(fire), "{name}: each announced reaction changed something: {event}");
                    fire = event["data"]["on"].as_bool().unwrap();
                }
                // A message's newest state, read from the database after a gap.
                Some("message.created" | "message.updated") if event["data"]["message"]["id"] == hot.as_str() => fire = has_fire(&event["data"]["message"]),
                _ => {}
            }
        }
        for m in &changed {
            let id = m["id"].as_str().unwrap();
            assert_eq!(m["rev"].as_i64(), newest.get(id).copied(), "{name}: message {id} ends at its database rev: {m}");
        }
        assert_eq!(fire_now, fire, "{name}: the events and the database agree on the contended reaction: {hot_now}");
    }
}

/// Hubs of one database must share its blob directory too: a file uploaded through one hub is
/// sent and downloaded through the other, and its deletion through either removes the file.
#[tokio::test]
async fn two_hubs_sharing_one_database_and_one_blob_directory_serve_each_others_files() {
    if !on_postgres_or_skip("two_hubs_sharing_one_database_and_one_blob_directory_serve_each_others_files") {
        return;
    }
    let blobs = tempfile::tempdir().unwrap();
    let dir = blobs.path().to_str().unwrap().to_owned();
    let hub_a = HubProcess::start(&["--blobs-dir", &dir]).await;
    let hub_b = HubProcess::start_beside(&hub_a, &["--blobs-dir", &dir]).await;
    let (alice, a) = Api::new(&hub_a.url()).user("Alice", "recruiter").await;
    let (_, b) = Api::new(&hub_a.url()).user("Bob", "candidate").await;
    let conversation_id = alice.direct(&b.user.id).await.id;
    let cv: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let uploaded = alice.upload("cv.pdf", "application/pdf", cv.clone()).await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.body);
    let file_id = uploaded.body["id"].as_str().unwrap().to_owned();

    let (mut gw_b, _) = Gw::ready(&hub_b.gateway_url(), &a.access_token).await;
    let sent = gw_b
        .request("message.send", json!({"conversation_id": conversation_id, "client_msg_id": "cv", "body": "", "attachment_ids": [&file_id]}))
        .await;
    assert_eq!(sent["data"]["message"]["attachments"][0]["id"], file_id.as_str(), "hub B attaches hub A's upload: {sent}");
    let bob_on_b = Api::new(&hub_b.url()).with_token(&b.access_token);
    let download = bob_on_b.raw("GET", &format!("/v1/attachments/{file_id}"), &[], None).await;
    assert_eq!((download.status, download.body == cv), (200, true), "hub B serves the bytes hub A stored");

    let message_id = sent["data"]["message"]["id"].clone();
    let deleted = Api::new(&hub_a.url()).with_token(&a.access_token).raw("DELETE", &format!("/v1/conversations/{conversation_id}/messages/{}", message_id.as_str().unwrap()), &[], None).await;
    assert_eq!(deleted.status, 204);
    until("the deleted message's file is gone from the shared directory", || !blobs.path().join(&file_id).exists()).await;
    assert_eq!(bob_on_b.raw("GET", &format!("/v1/attachments/{file_id}"), &[], None).await.status, 404, "and neither hub serves it");
}

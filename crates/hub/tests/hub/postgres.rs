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
async fn history(api: &Api, conversation_id: &str) -> Vec<Value> {
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
fn by_client_id(history: &[Value]) -> HashMap<String, Value> {
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
enum Outcome {
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
    let outcomes: Arc<Mutex<Vec<(String, Outcome)>>> = Arc::default();
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
                    Some("ack") => Outcome::Acked(reply["data"]["message"].clone()),
                    _ => Outcome::Refused(reply),
                };
                outcomes.lock().push((key, outcome));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            gw
        }
    });
    let acks = || outcomes.lock().iter().filter(|(_, o)| matches!(o, Outcome::Acked(_))).count();
    let refusals = || outcomes.lock().iter().filter(|(_, o)| matches!(o, Outcome::Refused(_))).count();
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
            Outcome::Acked(message) => {
                acked.insert(key, message);
            }
            Outcome::Refused(reply) => {
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

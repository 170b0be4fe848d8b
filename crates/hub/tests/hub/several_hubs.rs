//! Several hubs acting as one: two hub processes sharing one PostgreSQL and one Redis (a
//! redis-server of each test's own, so that a test may kill it). Skipped, with a note, without
//! PostgreSQL (`RAPPORT_TEST_POSTGRES`) or without `redis-server`; CI has both.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rapport_testkit::{on_postgres_or_skip, Api, Gw, HubProcess, PostgresCluster, TestRedis, API_KEY};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::postgres::{by_client_id, history};
use crate::support::{events, send_data};

/// How soon a hub's users must be shown offline elsewhere after it died.
const DEAD_HUB_BOUND: Duration = Duration::from_secs(15);
const GRACE: &str = "0.3";

struct Hubs {
    redis: TestRedis,
    a: HubProcess,
    b: HubProcess,
}

/// Two hubs on one database and one Redis, or `None` (skipped) without them.
async fn two_hubs(test: &str, extra: &[&str]) -> Option<Hubs> {
    if !on_postgres_or_skip(test) || !TestRedis::available_or_skip(test) {
        return None;
    }
    let redis = TestRedis::start().await;
    let url = redis.url();
    let args = [&["--redis", url.as_str(), "--presence-grace", GRACE], extra].concat();
    let a = HubProcess::start(&args).await;
    let b = HubProcess::start_beside(&a, &args).await;
    Some(Hubs { redis, a, b })
}

/// The next event of `kind` whose data matches.
async fn event_where(gw: &mut Gw, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
    gw.find(|f| f["op"] == "event" && f["type"] == kind && matches(&f["data"]))
        .await
        .unwrap_or_else(|| panic!("no {kind} event as expected"))
}

async fn presence_of(gw: &mut Gw, user_id: &str, status: &str) -> Value {
    event_where(gw, "presence", |d| d["user_id"] == user_id && d["status"] == status).await
}

#[tokio::test]
async fn users_on_two_hubs_exchange_messages_changes_typing_receipts_presence_and_notifications() {
    const TEST: &str = "users_on_two_hubs_exchange_messages_changes_typing_receipts_presence_and_notifications";
    let Some(hubs) = two_hubs(TEST, &[]).await else { return };
    let (alice, a) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let (_bob, b) = Api::new(&hubs.b.url()).user("Bob", "candidate").await;
    let direct = alice.direct(&b.user.id).await.id;
    let (alice_id, bob_id) = (a.user.id.as_str(), b.user.id.as_str());

    let (mut bob_gw, _) = Gw::ready(&hubs.b.gateway_url(), &b.access_token).await;
    let (mut alice_gw, ready) = Gw::ready(&hubs.a.gateway_url(), &a.access_token).await;
    let bob_seen = ready["presence"].as_array().unwrap().iter().find(|p| p["user_id"] == bob_id).unwrap().clone();
    assert_eq!(bob_seen["status"], "online", "hub A's ready knows that bob is online on hub B");
    presence_of(&mut bob_gw, alice_id, "online").await;

    // Messages, both ways, in seq order.
    for i in 0..5 {
        let ack = alice_gw.request("message.send", send_data(&direct, &format!("a{i}"), &format!("hello {i}"))).await;
        assert_eq!(ack["op"], "ack", "{ack}");
    }
    for i in 1..=5 {
        let created = bob_gw.event("message.created").await;
        assert_eq!(created["data"]["message"]["seq"], i, "bob on hub B gets alice's messages from hub A in seq order");
    }
    let reply = bob_gw.request("message.send", send_data(&direct, "b0", "hi Alice")).await;
    let reply_id = reply["data"]["message"]["id"].clone();
    event_where(&mut alice_gw, "message.created", |d| d["message"]["id"] == reply_id).await;

    // Changes (protocol 1.1).
    let edit = json!({"conversation_id": direct, "message_id": reply_id, "body": "hi Alice!"});
    assert_eq!(bob_gw.request("message.edit", edit).await["op"], "ack");
    let updated = alice_gw.event("message.updated").await;
    assert_eq!(updated["data"]["message"]["body"], "hi Alice!");
    let react = json!({"conversation_id": direct, "message_id": reply_id, "emoji": "👍", "on": true});
    assert_eq!(alice_gw.request("message.react", react).await["op"], "ack");
    assert_eq!(bob_gw.event("reaction").await["data"]["user_id"], alice_id);
    let delete = json!({"conversation_id": direct, "message_id": reply_id});
    assert_eq!(bob_gw.request("message.delete", delete).await["op"], "ack");
    assert_eq!(alice_gw.event("message.deleted").await["data"]["message_id"], reply_id);

    // Typing and receipts.
    bob_gw.request("typing", json!({"conversation_id": direct})).await;
    assert_eq!(alice_gw.event("typing").await["data"]["user_id"], bob_id);
    // Bob's own reply (seq 6) moved his read position already; reading it all says so.
    bob_gw.request("read", json!({"conversation_id": direct, "seq": 6})).await;
    let receipt = event_where(&mut alice_gw, "receipt", |d| d["user_id"] == bob_id && d["kind"] == "read").await;
    assert_eq!(receipt["data"]["seq"], 6);

    // A new conversation made on hub A: bob on B is told, and follows it at once.
    let group = alice.post("/v1/conversations", json!({"kind": "group", "title": "Role", "member_ids": [bob_id]})).await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let created = bob_gw.event("conversation.created").await;
    assert_eq!(created["data"]["conversation"]["id"], group_id.as_str());
    alice_gw.request("message.send", send_data(&group_id, "g0", "first in the group")).await;
    let first = event_where(&mut bob_gw, "message.created", |d| d["message"]["conversation_id"] == group_id.as_str()).await;
    assert_eq!(first["data"]["message"]["seq"], 1);

    // A notification pushed through hub A reaches bob on hub B.
    let body = json!({"user_id": bob_id, "kind": "job_alert", "title": "Rust engineer", "body": "Berlin"});
    let pushed = Api::new(&hubs.a.url()).call("POST", "/v1/notifications", Some(body), &[("x-api-key", API_KEY)]).await;
    assert_eq!(pushed.status, 201);
    assert_eq!(bob_gw.event("notification").await["data"]["notification"], pushed.body);

    // Bob leaves: alice sees him offline once the grace period is over.
    bob_gw.close().await;
    presence_of(&mut alice_gw, bob_id, "offline").await;

    let frames = alice_gw.drain_for(Duration::from_millis(500)).await;
    let mut seen = HashSet::new();
    for e in events(&frames, "message.created") {
        assert!(seen.insert(e["data"]["message"]["id"].to_string()), "a message is announced once: {frames:?}");
    }
    assert_eq!(events(&frames, "presence").count(), 0, "no presence loop between the hubs: {frames:?}");
}

#[tokio::test]
async fn concurrent_senders_on_both_hubs_get_gap_free_seqs_and_every_session_sees_each_message_once_in_order() {
    const TEST: &str = "concurrent_senders_on_both_hubs_get_gap_free_seqs_and_every_session_sees_each_message_once_in_order";
    let Some(hubs) = two_hubs(TEST, &[]).await else { return };
    const SENDERS: usize = 4;
    const EACH: usize = 30;
    let api = Api::new(&hubs.a.url());
    let mut users = Vec::new();
    for n in 0..SENDERS {
        users.push(api.user(&format!("Sender {n}"), "candidate").await);
    }
    let others: Vec<&str> = users[1..].iter().map(|(_, s)| s.user.id.as_str()).collect();
    let group = users[0].0.post("/v1/conversations", json!({"kind": "group", "title": "Busy", "member_ids": others})).await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    // A watcher on each hub: the first sender's second device on A, the second's on B.
    let (mut watch_a, _) = Gw::ready(&hubs.a.gateway_url(), &users[0].1.access_token).await;
    let (mut watch_b, _) = Gw::ready(&hubs.b.gateway_url(), &users[1].1.access_token).await;

    let mut tasks = Vec::new();
    for (n, (_, session)) in users.iter().enumerate() {
        let url = if n % 2 == 0 { hubs.a.gateway_url() } else { hubs.b.gateway_url() };
        let (token, group_id) = (session.access_token.clone(), group_id.clone());
        tasks.push(tokio::spawn(async move {
            let (mut gw, _) = Gw::ready(&url, &token).await;
            let mut sent = Vec::new();
            for i in 0..EACH {
                sent.push(gw.send_op("message.send", send_data(&group_id, &format!("s{n}-{i}"), "busy")).await);
            }
            for r in sent {
                assert_eq!(gw.reply_to(&r).await["op"], "ack");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = (SENDERS * EACH) as i64;
    for (name, watcher) in [("on hub A", &mut watch_a), ("on hub B", &mut watch_b)] {
        let mut seqs = Vec::new();
        while seqs.len() < total as usize {
            let e = event_where(watcher, "message.created", |d| d["message"]["conversation_id"] == group_id.as_str()).await;
            seqs.push(e["data"]["message"]["seq"].as_i64().unwrap());
        }
        assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "a watcher {name} sees every message once, in seq order, gap-free");
        let late = watcher.drain_for(Duration::from_millis(300)).await;
        assert_eq!(events(&late, "message.created").count(), 0, "and nothing twice {name}: {late:?}");
    }
}

#[tokio::test]
async fn presence_stays_online_until_the_last_session_on_any_hub_closes_and_typing_is_throttled_across_hubs() {
    const TEST: &str = "presence_stays_online_until_the_last_session_on_any_hub_closes_and_typing_is_throttled_across_hubs";
    let Some(hubs) = two_hubs(TEST, &[]).await else { return };
    let (alice, a) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let (_, b) = Api::new(&hubs.a.url()).user("Bob", "candidate").await;
    let direct = alice.direct(&b.user.id).await.id;
    let bob_id = b.user.id.as_str();
    let (mut alice_gw, _) = Gw::ready(&hubs.a.gateway_url(), &a.access_token).await;
    let (bob_on_a, _) = Gw::ready(&hubs.a.gateway_url(), &b.access_token).await;
    let (mut bob_on_b, _) = Gw::ready(&hubs.b.gateway_url(), &b.access_token).await;
    presence_of(&mut alice_gw, bob_id, "online").await;

    // Typing on both hubs within one second is announced once.
    bob_on_b.request("typing", json!({"conversation_id": direct})).await;
    let mut bob_on_a = bob_on_a;
    bob_on_a.request("typing", json!({"conversation_id": direct})).await;
    let frames = alice_gw.drain_for(Duration::from_millis(600)).await;
    assert_eq!(events(&frames, "typing").count(), 1, "one typing per second, whichever hub it reaches: {frames:?}");

    // Closing the session on A leaves bob online (B still has one), past the grace period.
    bob_on_a.close().await;
    let frames = alice_gw.drain_for(Duration::from_millis(1500)).await;
    assert_eq!(events(&frames, "presence").count(), 0, "online while a session is open on any hub: {frames:?}");
    bob_on_b.close().await;
    let offline = presence_of(&mut alice_gw, bob_id, "offline").await;
    assert!(offline["data"]["last_seen"].is_string());
}

#[tokio::test]
async fn a_killed_hub_s_users_go_offline_elsewhere_within_the_bound_and_only_once() {
    const TEST: &str = "a_killed_hub_s_users_go_offline_elsewhere_within_the_bound_and_only_once";
    let Some(mut hubs) = two_hubs(TEST, &[]).await else { return };
    let (alice, a) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let (_, b) = Api::new(&hubs.a.url()).user("Bob", "candidate").await;
    alice.direct(&b.user.id).await;
    let bob_id = b.user.id.as_str();
    let (mut alice_gw, _) = Gw::ready(&hubs.a.gateway_url(), &a.access_token).await;
    let (_bob_gw, _) = Gw::ready(&hubs.b.gateway_url(), &b.access_token).await;
    presence_of(&mut alice_gw, bob_id, "online").await;

    let killed_at = Instant::now();
    hubs.b.kill().await;
    let deadline = tokio::time::Instant::now() + DEAD_HUB_BOUND;
    let offline = loop {
        let frame = tokio::time::timeout_at(deadline, alice_gw.next_frame())
            .await
            .unwrap_or_else(|_| panic!("bob is still shown online {DEAD_HUB_BOUND:?} after his hub died"));
        if frame["type"] == "presence" && frame["data"]["user_id"] == bob_id {
            break frame;
        }
    };
    assert_eq!(offline["data"]["status"], "offline", "his first presence change is offline: {offline}");
    eprintln!("bob shown offline {:?} after his hub was killed", killed_at.elapsed());
    let later = alice_gw.drain_for(Duration::from_secs(3)).await;
    assert_eq!(events(&later, "presence").count(), 0, "announced once, no flapping: {later:?}");
}

#[tokio::test]
async fn a_revocation_on_one_hub_takes_effect_on_the_other_at_once() {
    const TEST: &str = "a_revocation_on_one_hub_takes_effect_on_the_other_at_once";
    let Some(hubs) = two_hubs(TEST, &[]).await else { return };
    let (_, session) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let on_b = Api::new(&hubs.b.url()).with_token(&session.access_token);
    assert_eq!(on_b.get("/v1/me").await.status, 200, "hub B trusts the login (and now caches it)");
    let (mut gw_b, _) = Gw::ready(&hubs.b.gateway_url(), &session.access_token).await;

    let out = Api::new(&hubs.a.url()).post("/v1/auth/logout", json!({"refresh_token": session.refresh_token})).await;
    assert_eq!(out.status, 204);
    assert_eq!(gw_b.closed().await, rapport_testkit::Closed::Code(4001), "hub B closes the login's sessions");
    // Well within the 5 s that hub B would otherwise trust its cache.
    assert_eq!(on_b.get("/v1/me").await.status, 401, "hub B refuses the revoked login at once");
}

#[tokio::test]
async fn a_resume_on_another_hub_answers_invalid_session_and_identify_follows() {
    const TEST: &str = "a_resume_on_another_hub_answers_invalid_session_and_identify_follows";
    let Some(hubs) = two_hubs(TEST, &[]).await else { return };
    let (_, session) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let (gw_a, ready) = Gw::ready(&hubs.a.gateway_url(), &session.access_token).await;
    gw_a.drop_connection();
    let mut gw_b = Gw::connect(&hubs.b.gateway_url()).await;
    let session_id = ready["session_id"].as_str().unwrap();
    gw_b.send_op("resume", json!({"token": session.access_token, "session_id": session_id, "last_seq": 0})).await;
    assert_eq!(gw_b.next_frame().await["op"], "invalid_session", "hub B does not hold hub A's replay buffer");
    gw_b.identify(&session.access_token, "online").await;
}

/// What happens to Redis in the middle of the traffic.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RedisFault {
    /// SIGKILL, then started again, empty: every connection breaks at once.
    Restart,
    /// SIGSTOP, then SIGCONT: connections stay open, nothing answers (a hung server or a
    /// network that drops packets).
    Freeze,
}

#[tokio::test]
async fn restart_of_redis_mid_traffic_loses_nothing_and_doubles_nothing() {
    redis_fault_mid_traffic("restart_of_redis_mid_traffic_loses_nothing_and_doubles_nothing", RedisFault::Restart).await;
}

#[tokio::test]
async fn a_frozen_redis_mid_traffic_loses_nothing_and_doubles_nothing() {
    redis_fault_mid_traffic("a_frozen_redis_mid_traffic_loses_nothing_and_doubles_nothing", RedisFault::Freeze).await;
}

async fn redis_fault_mid_traffic(test: &str, fault: RedisFault) {
    let Some(mut hubs) = two_hubs(test, &[]).await else { return };
    let (alice, a) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let (_, b) = Api::new(&hubs.b.url()).user("Bob", "candidate").await;
    let direct = alice.direct(&b.user.id).await.id;
    let (mut bob_gw, _) = Gw::ready(&hubs.b.gateway_url(), &b.access_token).await;

    // Alice sends on hub A for the whole test; bob on hub B must see every message once.
    let acked: Arc<Mutex<Vec<i64>>> = Arc::default();
    let (stop, stopped) = watch::channel(false);
    let sender = tokio::spawn({
        let (acked, url, token, direct) = (acked.clone(), hubs.a.gateway_url(), a.access_token.clone(), direct.clone());
        async move {
            let (mut gw, _) = Gw::ready(&url, &token).await;
            for n in 0.. {
                if *stopped.borrow() {
                    break;
                }
                let ack = gw.request("message.send", send_data(&direct, &format!("k{n}"), "through a Redis restart")).await;
                assert_eq!(ack["op"], "ack", "hub A stores messages whatever Redis does: {ack}");
                acked.lock().push(ack["data"]["message"]["seq"].as_i64().unwrap());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let count = || acked.lock().len();
    let until = |n: usize| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while count() < n {
            assert!(tokio::time::Instant::now() < deadline, "traffic stalled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    until(20).await;
    match fault {
        RedisFault::Restart => hubs.redis.kill().await,
        RedisFault::Freeze => hubs.redis.freeze(),
    }
    until(count() + 30).await;
    let readyz = Api::new(&hubs.a.url()).get("/readyz").await;
    assert_eq!(readyz.status, 503, "without Redis a hub is not ready: {:?}", readyz.body);
    // Long enough (6 s and more) for the subscribers to give their connection up: pings every
    // 2 s, unanswered for 2 s.
    until(count() + 300).await;
    match fault {
        RedisFault::Restart => hubs.redis.start_again().await,
        RedisFault::Freeze => hubs.redis.thaw(),
    }
    until(count() + 30).await;
    stop.send(true).unwrap();
    sender.await.unwrap();
    let total = acked.lock().len() as i64;

    let mut seqs = Vec::new();
    while seqs.len() < total as usize {
        let e = bob_gw.event("message.created").await;
        seqs.push(e["data"]["message"]["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "bob saw every message once, in order, through the restart");
    let late = bob_gw.drain_for(Duration::from_millis(500)).await;
    assert_eq!(events(&late, "message.created").count(), 0, "and none twice: {late:?}");
    let text = reqwest::get(format!("{}/metrics", hubs.b.url())).await.unwrap().text().await.unwrap();
    let reconnects: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("rapport_redis_reconnects_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(reconnects >= 1, "hub B noticed it lost Redis and connected again:\n{text}");
    let ready = Api::new(&hubs.a.url()).get("/readyz").await;
    assert_eq!(ready.status, 200, "ready again once Redis answers: {:?}", ready.body);
}

#[tokio::test]
async fn restart_of_postgres_under_two_hubs_loses_no_acked_message_and_acks_nothing_falsely() {
    const TEST: &str = "restart_of_postgres_under_two_hubs_loses_no_acked_message_and_acks_nothing_falsely";
    if !on_postgres_or_skip(TEST) {
        return;
    }
    let Some(cluster) = PostgresCluster::or_skip(TEST) else { return };
    let Some(hubs) = two_hubs(TEST, &["--database-timeout", "1"]).await else { return };
    let (alice, a) = Api::new(&hubs.a.url()).user("Alice", "recruiter").await;
    let (_, b) = Api::new(&hubs.b.url()).user("Bob", "candidate").await;
    let direct = alice.direct(&b.user.id).await.id;
    let (mut bob_gw, _) = Gw::ready(&hubs.b.gateway_url(), &b.access_token).await;

    let outcomes: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let (stop, stopped) = watch::channel(false);
    let sender = tokio::spawn({
        let (outcomes, url, token, direct) = (outcomes.clone(), hubs.a.gateway_url(), a.access_token.clone(), direct.clone());
        async move {
            let (mut gw, _) = Gw::ready(&url, &token).await;
            for n in 0.. {
                if *stopped.borrow() {
                    break;
                }
                let key = format!("k{n}");
                let reply = gw.request("message.send", send_data(&direct, &key, "through a PostgreSQL restart")).await;
                outcomes.lock().push((key, reply));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            gw
        }
    });
    let acks = || outcomes.lock().iter().filter(|(_, r)| r["op"] == "ack").count();
    let until = |n: usize| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        while acks() < n {
            assert!(tokio::time::Instant::now() < deadline, "sends are not acked again");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    until(20).await;
    cluster.restart_immediately().await;
    until(acks() + 20).await;
    stop.send(true).unwrap();
    let mut gw = sender.await.unwrap();

    let mut acked: HashMap<String, Value> = HashMap::new();
    let outcomes = std::mem::take(&mut *outcomes.lock());
    for (key, reply) in outcomes {
        if reply["op"] == "ack" {
            acked.insert(key, reply["data"]["message"].clone());
        } else {
            assert_eq!(reply["error"]["code"], "unavailable", "a send the restart met is refused as retryable: {reply}");
            let again = gw.request("message.send", send_data(&direct, &key, "through a PostgreSQL restart")).await;
            assert_eq!(again["op"], "ack", "and goes through once retried: {again}");
            acked.insert(key, again["data"]["message"].clone());
        }
    }
    let stored = by_client_id(&history(&alice, &direct).await);
    assert_eq!(stored.len(), acked.len(), "every send stored once");
    for (key, message) in &acked {
        assert_eq!(stored.get(key).map(|m| &m["id"]), Some(&message["id"]), "{key} acked is stored as acked");
    }
    // Bob on hub B sees each stored message once (one whose live event the restart cut off
    // is read from the database at the next one).
    let total = stored.len();
    let mut seen = HashSet::new();
    while seen.len() < total {
        let e = bob_gw.event("message.created").await;
        assert!(seen.insert(e["data"]["message"]["seq"].as_i64().unwrap()), "no message twice: {e}");
    }
}

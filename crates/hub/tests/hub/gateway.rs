//! Opening a session and the error answers that keep the connection open.

use rapport_testkit::{Closed, Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

#[tokio::test]
async fn hello_then_ready_with_a_snapshot_of_the_users_world() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    // Protocol 1.1 adds `features` to the v1 hello and changes nothing else.
    assert_eq!((gw.hello["data"]["protocol"].clone(), gw.hello["data"]["heartbeat_interval_ms"].clone()), (json!(1), json!(25000)));
    assert!(gw.hello["data"]["features"].is_array(), "{}", gw.hello);
    let ready = gw.identify(&p.bob_session.access_token, "online").await;
    assert!(ready["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(ready["user"]["id"], p.bob_session.user.id.as_str());
    assert_eq!(ready["conversations"][0]["id"], p.conversation.id.as_str());
    assert_eq!(ready["notifications_unread"], 0);
    let presence = ready["presence"].as_array().unwrap();
    let alice = presence.iter().find(|p2| p2["user_id"] == p.alice_session.user.id.as_str()).expect("contacts' presence");
    assert_eq!(alice["status"], "offline");
    let me = presence.iter().find(|p2| p2["user_id"] == p.bob_session.user.id.as_str()).expect("own presence");
    assert_eq!(me["status"], "online");
}

#[tokio::test]
async fn anything_but_identify_or_resume_first_closes_4001() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    for first in [
        json!({"op": "ping", "ref": 1}).to_string(),
        json!({"op": "message.send", "ref": 1, "data": send_data(&p.conversation.id, "x", "hi")}).to_string(),
        "not json".to_owned(),
        json!({"op": "identify", "ref": 1, "data": {"token": "forged", "presence": "online"}}).to_string(),
        json!({"op": "resume", "ref": 1, "data": {"token": "forged", "session_id": "s", "last_seq": 0}}).to_string(),
    ] {
        let mut gw = Gw::connect(&hub.gateway_url()).await;
        gw.send_text(first.clone()).await;
        assert_eq!(gw.closed().await, Closed::Code(4001), "first frame {first}");
    }
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_stays_open() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let c = p.conversation.id.as_str();

    gw.send_text("{this is not json").await;
    let err = gw.find(|f| f["op"] == "error").await.expect("an error frame");
    assert_eq!(err["error"]["code"], "bad_frame");
    assert!(err.as_object().unwrap().contains_key("ref") && err["ref"].is_null(), "ref null when unreadable: {err}");

    gw.send_text(json!({"op": "dance", "ref": "r-1"}).to_string()).await;
    let err = gw.reply_to(&json!("r-1")).await;
    assert_eq!((&err["op"], &err["error"]["code"]), (&json!("error"), &json!("unknown_op")), "string refs are echoed");

    let cases = [
        ("message.send", json!({"conversation_id": c, "body": "no id"}), "invalid_payload"),
        ("message.send", json!({"conversation_id": c, "client_msg_id": "", "body": "x"}), "invalid_payload"),
        ("message.send", json!({"conversation_id": c, "client_msg_id": "a".repeat(65), "body": "x"}), "invalid_payload"),
        ("message.send", send_data(c, "e1", "   \n\t "), "body_empty"),
        ("message.send", send_data(c, "e2", ""), "body_empty"),
        ("message.send", send_data(c, "e3", &"x".repeat(4001)), "body_too_long"),
        ("message.send", send_data("nope", "e4", "hi"), "not_found"),
        ("read", json!({"conversation_id": c, "seq": "one"}), "invalid_payload"),
        ("read", json!({"conversation_id": c, "seq": -1}), "invalid_payload"),
        ("typing", json!({}), "invalid_payload"),
        ("presence.set", json!({"status": "offline"}), "invalid_payload"),
        ("identify", json!({"token": p.alice_session.access_token}), "invalid_payload"),
    ];
    for (op, data, code) in cases {
        let reply = gw.request(op, data.clone()).await;
        assert_eq!((&reply["op"], reply["error"]["code"].as_str()), (&json!("error"), Some(code)), "{op} {data}");
    }
    gw.send_text(json!({"op": "typing", "ref": 5}).to_string()).await;
    assert_eq!(gw.reply_to(&json!(5)).await["error"]["code"], "invalid_payload", "missing data");

    let ok = gw.request("message.send", send_data(c, "fine", &"é".repeat(4000))).await;
    assert_eq!(ok["op"], "ack", "4000 scalar values is the limit, not 4000 bytes: {ok}");
    let pong = gw.request("ping", json!(null)).await;
    assert_eq!(pong["op"], "pong", "still open after every error");
}

#[tokio::test]
async fn every_frame_with_a_ref_gets_exactly_one_answer_and_events_count_from_1() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let c = p.conversation.id.as_str();
    let mut refs = Vec::new();
    for n in 0..5 {
        refs.push(alice.send_op("message.send", send_data(c, &format!("m{n}"), "hi")).await);
    }
    refs.push(alice.send_op("typing", json!({"conversation_id": c})).await);
    refs.push(alice.send_op("presence.set", json!({"status": "busy"})).await);
    refs.push(alice.send_op("ping", json!(null)).await);
    let frames = alice.drain_for(std::time::Duration::from_millis(500)).await;
    for r in &refs {
        let answers = frames.iter().filter(|f| f.get("ref") == Some(r) && f["op"] != "event").count();
        assert_eq!(answers, 1, "ref {r} answered exactly once");
    }
    let ack = frames.iter().find(|f| f["op"] == "ack" && f["data"]["message"].is_object()).unwrap();
    assert_eq!(ack["data"]["message"]["conversation_id"], c);

    let bob_frames = bob.drain_for(std::time::Duration::from_millis(300)).await;
    let seqs: Vec<u64> = bob_frames.iter().filter(|f| f["op"] == "event").map(|f| f["seq"].as_u64().unwrap()).collect();
    assert!(!seqs.is_empty());
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "event seq starts at 1 and rises by 1");
}

#[tokio::test]
async fn binary_frames_are_refused_politely() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    gw.send_binary(vec![1, 2, 3]).await;
    let err = gw.find(|f| f["op"] == "error").await.expect("error");
    assert_eq!(err["error"]["code"], "bad_frame");
    assert_eq!(gw.request("ping", json!(null)).await["op"], "pong");
}

/// Sessions of one user that identify together may share one snapshot read; none may miss a
/// message sent meanwhile: each has it in its `ready` or gets its event.
#[tokio::test]
async fn sessions_identifying_together_while_messages_arrive_miss_nothing() {
    const SESSIONS: usize = 24;
    const MESSAGES: i64 = 24;
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.clone();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let mut joining = Vec::new();
    for _ in 0..SESSIONS {
        let url = hub.gateway_url();
        let token = p.bob_session.access_token.clone();
        joining.push(tokio::spawn(async move { Gw::ready(&url, &token).await }));
    }
    let mut refs = Vec::new();
    for i in 0..MESSAGES {
        refs.push(alice.send_op("message.send", send_data(&c, &format!("m{i}"), "while you connect")).await);
    }
    for r in refs {
        assert_eq!(alice.reply_to(&r).await["op"], "ack");
    }
    for task in joining {
        let (mut bob, ready) = task.await.unwrap();
        assert_eq!(ready["user"]["id"], p.bob_session.user.id.as_str());
        let conversation = &ready["conversations"][0];
        assert_eq!(conversation["id"], c.as_str());
        let known = conversation["last_seq"].as_i64().unwrap();
        let mut seen = known;
        while seen < MESSAGES {
            let event = bob.event("message.created").await;
            let seq = event["data"]["message"]["seq"].as_i64().unwrap();
            if seq > known {
                assert_eq!(seq, seen + 1, "after its ready, a session gets every later message in order");
                seen = seq;
            }
        }
    }
}

/// Event seqs among frames, in arrival order.
fn event_seqs(frames: &[serde_json::Value]) -> Vec<u64> {
    frames.iter().filter(|f| f["op"] == "event").map(|f| f["seq"].as_u64().expect("an event has a seq")).collect()
}

#[tokio::test]
async fn a_burst_of_pipelined_ops_gets_every_answer_and_every_event_in_seq_order() {
    const BURST: usize = 200; // within the protocol's burst allowance
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;

    // Sent back to back without waiting: acks and events queue up together on the hub.
    let mut refs = Vec::new();
    for n in 0..BURST {
        refs.push(alice.send_op("message.send", send_data(c, &format!("burst-{n}"), &format!("message {n}"))).await);
    }
    for r in &refs {
        let ack = alice.reply_to(r).await;
        assert_eq!(ack["op"], "ack", "every op of the burst is answered: {ack}");
    }
    // Events of Alice's own were read on the way (an ack may come before its event).
    let mut alices = alice.take_backlog();
    while alices.iter().filter(|f| f["type"] == "message.created").count() < BURST {
        alices.push(alice.next_frame().await);
    }
    let mut bobs = bob.take_backlog();
    while bobs.iter().filter(|f| f["type"] == "message.created").count() < BURST {
        bobs.push(bob.next_frame().await);
    }
    for (who, frames) in [("alice", alices), ("bob", bobs)] {
        let created: Vec<_> = frames.iter().filter(|f| f["type"] == "message.created").collect();
        assert_eq!(created.len(), BURST, "{who} gets every message once");
        let seqs = event_seqs(&frames);
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{who}'s event seqs rise by exactly 1: {seqs:?}");
        let message_seqs: Vec<i64> = created.iter().map(|f| f["data"]["message"]["seq"].as_i64().unwrap()).collect();
        assert_eq!(message_seqs, (1..=BURST as i64).collect::<Vec<_>>(), "{who} sees the conversation in seq order");
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_1008_once_it_falls_a_ring_behind() {
    use futures_util::{stream, StreamExt as _};
    use rapport_testkit::API_KEY;

    // More events than the socket buffers (a few MB) and the session's ring (1024 events)
    // hold together.
    const EVENTS: usize = 2000;
    // The test reads late on purpose: the write must not time out (dropping the connection
    // without a close frame) before it does.
    let hub = TestHub::start_with(|c| c.write_timeout = std::time::Duration::from_secs(3600)).await;
    let (_, carl) = hub.api().user("Carl", "candidate").await;
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &carl.access_token).await;

    let api = hub.api();
    let pad = "x".repeat(8 * 1024);
    let created = stream::iter(0..EVENTS)
        .map(|n| {
            let body = json!({"user_id": carl.user.id, "kind": "system", "title": "t", "body": "b", "data": {"n": n, "pad": pad}});
            let api = &api;
            async move { api.call("POST", "/v1/notifications", Some(body), &[("x-api-key", API_KEY)]).await.status }
        })
        .buffered(8)
        .collect::<Vec<_>>()
        .await;
    assert!(created.iter().all(|&status| status == 201), "every notification was stored and dispatched");

    // Reading again: what the hub had already written, then its close frame.
    assert_eq!(gw.closed().await, Closed::Code(1008), "a client a whole ring behind is told it is too slow");
    let seqs = event_seqs(&gw.take_backlog());
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "what it got is complete and in order");
    assert!(seqs.len() < EVENTS, "the hub did not queue everything for a client that does not read");
}

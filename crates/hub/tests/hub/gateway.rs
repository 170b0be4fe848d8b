//! Opening a session and the error answers that keep the connection open.

use rapport_testkit::{Closed, Gw, TestHub};
use serde_json::json;

use crate::support::{pair, send_data};

#[tokio::test]
async fn hello_then_ready_with_a_snapshot_of_the_users_world() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    assert_eq!(gw.hello["data"], json!({"protocol": 1, "heartbeat_interval_ms": 25000}));
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

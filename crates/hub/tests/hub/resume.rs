//! Resuming a session: replay, invalid_session, taking over a live connection.

use std::time::Duration;

use rapport_testkit::{Closed, Gw, TestHub};
use serde_json::{json, Value};

use crate::support::{pair, send_data};

fn event_seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().filter(|f| f["op"] == "event").map(|f| f["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn resume_replays_missed_events_in_order_then_continues() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let mut bob = Gw::connect(&hub.gateway_url()).await;
    let ready = bob.identify(&p.bob_session.access_token, "online").await;
    let session_id = ready["session_id"].as_str().unwrap().to_owned();

    alice.request("message.send", send_data(c, "before", "one")).await;
    let first = bob.event("message.created").await;
    let last_seq = first["seq"].as_u64().unwrap();
    bob.drop_connection();

    for n in 0..5 {
        alice.request("message.send", send_data(c, &format!("while-{n}"), "missed")).await;
    }
    let mut bob = Gw::connect(&hub.gateway_url()).await;
    let r = bob.send_op("resume", json!({"token": p.bob_session.access_token, "session_id": session_id, "last_seq": last_seq})).await;
    let mut replay = Vec::new();
    let resumed = loop {
        let frame = bob.next_frame().await;
        if frame["op"] == "resumed" {
            break frame;
        }
        replay.push(frame);
    };
    assert_eq!(resumed["ref"], r);
    let replayed = resumed["data"]["replayed"].as_u64().unwrap();
    assert_eq!(replay.len() as u64, replayed, "resumed counts the replayed events");
    let seqs = event_seqs(&replay);
    assert_eq!(seqs, (last_seq + 1..=last_seq + replayed).collect::<Vec<_>>(), "same seqs as first sent, in order");
    let bodies: Vec<&str> = replay.iter().filter(|f| f["type"] == "message.created").map(|f| f["data"]["message"]["client_msg_id"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["while-0", "while-1", "while-2", "while-3", "while-4"]);

    alice.request("message.send", send_data(c, "after", "live")).await;
    let live = bob.event("message.created").await;
    assert_eq!(live["seq"].as_u64().unwrap(), last_seq + replayed + 1, "the session continues with the next seq");
    assert_eq!(bob.request("ping", json!(null)).await["op"], "pong", "a resumed session is ready");
}

#[tokio::test]
async fn unknown_or_impossible_resumes_get_invalid_session_and_may_identify() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let mut gw = Gw::connect(&hub.gateway_url()).await;
    let r = gw.send_op("resume", json!({"token": p.bob_session.access_token, "session_id": "no-such-session", "last_seq": 0})).await;
    let answer = gw.next_frame().await;
    assert_eq!(answer, json!({"op": "invalid_session", "ref": r}));
    let ready = gw.identify(&p.bob_session.access_token, "online").await;
    let session_id = ready["session_id"].as_str().unwrap().to_owned();
    gw.drop_connection();

    // Someone else's session id: as good as unknown.
    let mut other = Gw::connect(&hub.gateway_url()).await;
    let r = other.send_op("resume", json!({"token": p.alice_session.access_token, "session_id": session_id, "last_seq": 0})).await;
    assert_eq!(other.next_frame().await, json!({"op": "invalid_session", "ref": r}));

    // A last_seq from the future.
    let mut again = Gw::connect(&hub.gateway_url()).await;
    let r = again.send_op("resume", json!({"token": p.bob_session.access_token, "session_id": session_id, "last_seq": 999})).await;
    assert_eq!(again.next_frame().await, json!({"op": "invalid_session", "ref": r}));
}

#[tokio::test]
async fn a_session_is_not_resumable_after_the_resume_window() {
    let hub = TestHub::start_with(|c| c.resume_window = Duration::from_millis(300)).await;
    let p = pair(&hub).await;
    let (gw, ready) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    gw.drop_connection();
    tokio::time::sleep(Duration::from_millis(600)).await; // past the (shortened) resume window
    let mut again = Gw::connect(&hub.gateway_url()).await;
    let r = again.send_op("resume", json!({"token": p.bob_session.access_token, "session_id": ready["session_id"], "last_seq": 0})).await;
    assert_eq!(again.next_frame().await, json!({"op": "invalid_session", "ref": r}));
}

#[tokio::test]
async fn resuming_a_session_that_still_looks_open_closes_the_old_connection() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let (mut old, ready) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let mut new = Gw::connect(&hub.gateway_url()).await;
    new.send_op("resume", json!({"token": p.bob_session.access_token, "session_id": ready["session_id"], "last_seq": 0})).await;
    let resumed = new.find(|f| f["op"] == "resumed").await.expect("resumed");
    assert!(resumed["data"]["replayed"].as_u64().is_some());
    assert!(matches!(old.closed().await, Closed::Code(_)), "the old connection is closed");
    assert_eq!(new.request("ping", json!(null)).await["op"], "pong");
}

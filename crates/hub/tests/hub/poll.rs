//! Long polling (1.1 §4): the same session as the gateway's, carried by HTTP requests. Each
//! test holds the polled session to what a WebSocket session does with the same ops.

use std::time::Duration;

use rapport_testkit::{Api, Gw, TestHub};
use serde_json::{json, Value};

use crate::support::{pair, send_data};

/// A polled session as a test drives it.
struct Polled {
    api: Api,
    id: String,
    ready: Value,
    last_seq: u64,
}

impl Polled {
    async fn open(hub: &TestHub, token: &str) -> Polled {
        let api = hub.api();
        let reply = api.post("/v1/poll/open", json!({"token": token, "presence": "online"})).await;
        assert_eq!(reply.status, 200, "open: {:?}", reply.body);
        let id = reply.body["session_id"].as_str().expect("a session id").to_owned();
        assert_eq!(reply.body["ready"]["session_id"], id.as_str(), "the ready is that of the same session");
        Polled { api, id, ready: reply.body["ready"].clone(), last_seq: 0 }
    }

    /// One poll with these ops and the given `last_seq`; the whole answer.
    async fn poll_at(&self, ops: Vec<Value>, last_seq: u64) -> rapport_testkit::Reply {
        self.api.post(&format!("/v1/poll/{}", self.id), json!({"ops": ops, "last_seq": last_seq})).await
    }

    /// One poll; its frames (events counted into `last_seq`).
    async fn poll(&mut self, ops: Vec<Value>) -> Vec<Value> {
        let reply = self.poll_at(ops, self.last_seq).await;
        assert_eq!(reply.status, 200, "poll: {:?}", reply.body);
        assert!(reply.body.get("closed").is_none(), "the session must still be open: {:?}", reply.body);
        let frames = reply.body["frames"].as_array().expect("frames").clone();
        for frame in &frames {
            if frame["op"] == "event" {
                let seq = frame["seq"].as_u64().expect("a seq");
                assert_eq!(seq, self.last_seq + 1, "events come gap-free and once: {frame}");
                self.last_seq = seq;
            }
        }
        frames
    }

    /// Polls until the answers to every ref in `refs` are in; every frame, in order.
    async fn until_answered(&mut self, ops: Vec<Value>, refs: &[Value]) -> Vec<Value> {
        let mut frames = self.poll(ops).await;
        let answered = |frames: &[Value]| refs.iter().all(|r| frames.iter().any(|f| f["op"] != "event" && &f["ref"] == r));
        while !answered(&frames) {
            frames.extend(self.poll(Vec::new()).await);
        }
        frames
    }

    /// Polls until an event of this type comes; that event.
    async fn event(&mut self, kind: &str) -> Value {
        loop {
            if let Some(event) = self.poll(Vec::new()).await.into_iter().find(|f| f["op"] == "event" && f["type"] == kind) {
                return event;
            }
        }
    }
}

fn op(op: &str, r: u64, data: Value) -> Value {
    json!({"op": op, "ref": r, "data": data})
}

/// What a reply says, without the ids and times that differ between two runs.
fn shape(frame: &Value) -> (String, Value, String) {
    (frame["op"].as_str().unwrap_or("").to_owned(), frame["ref"].clone(), frame["error"]["code"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn open_gives_the_ready_an_identify_gives() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let polled = Polled::open(&hub, &p.bob_session.access_token).await;
    let (_gw, ready) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    assert_eq!(polled.ready["user"], ready["user"]);
    let ids = |r: &Value| r["conversations"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&polled.ready), ids(&ready));
    assert_ne!(polled.id, ready["session_id"], "two sessions");
    let hello = Gw::connect(&hub.gateway_url()).await.hello;
    assert!(hello["data"]["features"].as_array().unwrap().contains(&json!("poll")), "hello announces polling: {hello}");
}

#[tokio::test]
async fn the_same_ops_get_the_same_answers_as_over_the_gateway() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let ops = vec![
        op("ping", 1, json!(null)),
        op("message.send", 2, send_data(c, "m-1", "hello")),
        op("message.send", 3, send_data(c, "m-2", "   ")),
        op("message.send", 4, send_data("no-such-conversation", "m-3", "hello")),
        op("no.such.op", 5, json!({})),
        op("typing", 6, json!({"conversation_id": c})),
        op("read", 7, json!({"conversation_id": c, "seq": -1})),
        op("identify", 8, json!({"token": p.alice_session.access_token})),
        json!({"op": "message.send", "ref": 9}),
        json!("not an object"),
        op("message.send", 10, send_data(c, "m-1", "hello")),
    ];
    let refs: Vec<Value> = (1..=10).map(|r| json!(r)).collect();

    let (mut gw, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let mut over_ws = Vec::new();
    for op in &ops {
        gw.send_text(op.to_string()).await;
    }
    // One reply per op (the one that is not an object gets an error without a ref).
    while over_ws.len() < ops.len() {
        let frame = gw.next_frame().await;
        if frame["op"] == "event" {
            continue;
        }
        over_ws.push(shape(&frame));
    }

    let mut polled = Polled::open(&hub, &p.alice_session.access_token).await;
    let frames = polled.until_answered(ops.clone(), &refs).await;
    let mut over_poll: Vec<_> = frames.iter().filter(|f| f["op"] != "event").map(shape).collect();
    while over_poll.len() < over_ws.len() {
        over_poll.extend(polled.poll(Vec::new()).await.iter().filter(|f| f["op"] != "event").map(shape));
    }
    // Replies leave in the order of the ops, but a frame-level error does not wait behind a
    // send that is committing (on either transport): compared by ref.
    over_ws.sort_by_key(|s| s.1.to_string());
    over_poll.sort_by_key(|s| s.1.to_string());
    assert_eq!(over_poll, over_ws, "the same ops get the same replies");
    let resent = frames.iter().find(|f| f["ref"] == 10).expect("the resend is answered");
    assert_eq!(resent["op"], "ack", "a resend is acked with the stored message: {resent}");
}

#[tokio::test]
async fn events_reach_a_polled_session_with_the_seqs_a_websocket_session_gets() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let (mut bob_ws, _) = Gw::ready(&hub.gateway_url(), &p.bob_session.access_token).await;
    let mut bob_poll = Polled::open(&hub, &p.bob_session.access_token).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let mut sent = Vec::new();
    for n in 0..5 {
        let ack = alice.request("message.send", send_data(c, &format!("e-{n}"), &format!("message {n}"))).await;
        sent.push(ack["data"]["message"]["id"].clone());
    }
    let mut over_poll = Vec::new();
    while over_poll.len() < sent.len() {
        over_poll.extend(
            bob_poll.poll(Vec::new()).await.into_iter().filter(|f| f["type"] == "message.created").map(|f| f["data"]["message"]["id"].clone()),
        );
    }
    let mut over_ws = Vec::new();
    while over_ws.len() < sent.len() {
        over_ws.push(bob_ws.event("message.created").await["data"]["message"]["id"].clone());
    }
    assert_eq!(over_poll, sent, "every message once, in order, over polls");
    assert_eq!(over_ws, sent);
}

#[tokio::test]
async fn a_held_poll_is_answered_as_soon_as_an_event_comes() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.clone();
    let mut bob = Polled::open(&hub, &p.bob_session.access_token).await;
    // What identifying caused (presence) is taken first, so that the next poll has to wait.
    let _ = bob.poll(vec![op("ping", 1, json!(null))]).await;
    let held = tokio::spawn(async move {
        let frames = bob.event("message.created").await;
        (bob, frames)
    });
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    let message = alice.request("message.send", send_data(&c, "live", "now")).await;
    let (_, event) = tokio::time::timeout(Duration::from_secs(20), held).await.expect("answered long before the 25 s hold").unwrap();
    assert_eq!(event["data"]["message"]["id"], message["data"]["message"]["id"]);
}

#[tokio::test]
async fn last_seq_brings_back_what_a_lost_answer_carried() {
    let hub = TestHub::start_with(|c| c.heartbeat = Duration::from_millis(1000)).await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let mut bob = Polled::open(&hub, &p.bob_session.access_token).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    for n in 0..3 {
        alice.request("message.send", send_data(c, &format!("l-{n}"), "x")).await;
    }
    let mut created = 0;
    while created < 3 {
        created += bob.poll(Vec::new()).await.iter().filter(|f| f["type"] == "message.created").count();
    }
    let upto = bob.last_seq;
    // As if that answer had been lost: the same last_seq as before it.
    let again = bob.poll_at(Vec::new(), 0).await;
    let seqs: Vec<u64> = again.body["frames"].as_array().unwrap().iter().filter_map(|f| f["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=upto).collect::<Vec<_>>(), "every event after last_seq 0 again, in order");
    let ahead = bob.poll_at(Vec::new(), upto + 5).await;
    assert_eq!(ahead.body["frames"][0]["error"]["code"], "invalid_payload", "a last_seq never sent: {:?}", ahead.body);
    // With everything had, an idle poll waits out its hold (1 s here) and comes back empty.
    let idle = bob.poll_at(Vec::new(), upto).await;
    assert_eq!(idle.body["frames"], json!([]), "nothing twice: {:?}", idle.body);
}

#[tokio::test]
async fn a_second_poll_answers_the_first_and_nothing_is_lost() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let mut bob = Polled::open(&hub, &p.bob_session.access_token).await;
    let _ = bob.poll(vec![op("ping", 1, json!(null))]).await;
    let (api, path) = (bob.api.clone(), format!("/v1/poll/{}", bob.id));
    let last_seq = bob.last_seq;
    let first = tokio::spawn(async move { api.post(&path, json!({"ops": [], "last_seq": last_seq})).await });
    // Either poll may reach the hub first: the other answers it at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = bob.poll_at(vec![op("ping", 2, json!(null))], last_seq).await;
    let first = tokio::time::timeout(Duration::from_secs(20), first).await.expect("the older poll is answered").unwrap();
    let frames: Vec<Value> = [&first, &second].iter().flat_map(|r| r.body["frames"].as_array().unwrap().clone()).collect();
    assert_eq!(frames.iter().filter(|f| f["op"] == "pong" && f["ref"] == 2).count(), 1, "the pong once: {frames:?}");
    assert!(first.status == 200 && second.status == 200);
}

#[tokio::test]
async fn a_session_not_polled_for_two_heartbeats_is_closed() {
    let hub = TestHub::start_with(|c| c.heartbeat = Duration::from_millis(300)).await;
    let (_, session) = hub.api().user("Quiet Poller", "candidate").await;
    let mut polled = Polled::open(&hub, &session.access_token).await;
    for n in 0..5 {
        // Each poll comes back within the hold (300 ms) and the next follows at once.
        let frames = polled.poll(vec![op("ping", n, json!(null))]).await;
        let _ = frames;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let reply = polled.poll_at(Vec::new(), polled.last_seq).await;
    let closed_4009 = reply.status == 200 && reply.body["closed"]["code"] == 4009;
    assert!(closed_4009 || reply.code() == "not_found", "closed for silence (4009), as a gateway session: {:?}", reply.body);
    loop {
        let reply = polled.poll_at(Vec::new(), polled.last_seq).await;
        if reply.status == 404 {
            assert_eq!(reply.code(), "not_found");
            break;
        }
        assert_eq!(reply.body["closed"]["code"], 4009, "{:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn bad_input_gets_the_errors_of_the_rest_of_the_api() {
    let hub = TestHub::start().await;
    let (_, session) = hub.api().user("Careless", "candidate").await;
    let api = hub.api();
    let reply = api.post("/v1/poll/open", json!({"token": "not-a-token"})).await;
    assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{:?}", reply.body);
    let reply = api.post("/v1/poll/open", json!({"presence": "online"})).await;
    assert_eq!((reply.status, reply.code()), (400, "invalid_payload"));
    let reply = api.post("/v1/poll/open", json!({"token": session.access_token, "presence": "asleep"})).await;
    assert_eq!((reply.status, reply.code()), (400, "invalid_payload"));
    let reply = api.post("/v1/poll/0123456789abcdef", json!({"ops": [], "last_seq": 0})).await;
    assert_eq!((reply.status, reply.code()), (404, "not_found"), "an unknown session: {:?}", reply.body);
    let reply = api.post("/v1/poll/%ff", json!({"ops": [], "last_seq": 0})).await;
    assert_eq!((reply.status, reply.code()), (404, "not_found"));

    let polled = Polled::open(&hub, &session.access_token).await;
    let path = format!("/v1/poll/{}", polled.id);
    for body in [json!({"ops": []}), json!({"ops": {}, "last_seq": 0}), json!({"ops": [], "last_seq": -1}), json!([1, 2])] {
        let reply = api.post(&path, body.clone()).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "{body}: {:?}", reply.body);
    }
    let too_many: Vec<Value> = (0..65).map(|n| op("ping", n, json!(null))).collect();
    let reply = api.post(&path, json!({"ops": too_many, "last_seq": 0})).await;
    assert_eq!((reply.status, reply.code()), (400, "invalid_payload"), "65 ops: {:?}", reply.body);
    let reply = api.call("GET", &path, None, &[]).await;
    assert_eq!((reply.status, reply.code()), (405, "method_not_allowed"));
    // A frame too big for the gateway ends the session as it would there (1009).
    let huge = op("typing", 1, json!({"conversation_id": "x".repeat(70 * 1024)}));
    let reply = api.post(&path, json!({"ops": [huge], "last_seq": 0})).await;
    assert_eq!(reply.body["closed"]["code"], 1009, "{:?}", reply.status);
}

#[tokio::test]
async fn a_websocket_resumes_a_polled_session_without_a_gap_or_a_repeat() {
    let hub = TestHub::start().await;
    let p = pair(&hub).await;
    let c = p.conversation.id.as_str();
    let mut bob = Polled::open(&hub, &p.bob_session.access_token).await;
    let (mut alice, _) = Gw::ready(&hub.gateway_url(), &p.alice_session.access_token).await;
    alice.request("message.send", send_data(c, "r-0", "seen over polls")).await;
    bob.event("message.created").await;
    for n in 1..4 {
        alice.request("message.send", send_data(c, &format!("r-{n}"), "missed")).await;
    }
    let mut ws = Gw::connect(&hub.gateway_url()).await;
    let r = ws.send_op("resume", json!({"token": p.bob_session.access_token, "session_id": bob.id, "last_seq": bob.last_seq})).await;
    let mut replayed = Vec::new();
    loop {
        let frame = ws.next_frame().await;
        if frame["op"] == "resumed" {
            assert_eq!(frame["ref"], r);
            break;
        }
        replayed.push(frame);
    }
    let seqs: Vec<u64> = replayed.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, ((bob.last_seq + 1)..=(bob.last_seq + seqs.len() as u64)).collect::<Vec<_>>(), "the replay starts right after last_seq");
    assert_eq!(replayed.iter().filter(|f| f["type"] == "message.created").count(), 3, "the three missed messages");
    // The polls are superseded: their session went to the WebSocket.
    let reply = bob.poll_at(Vec::new(), bob.last_seq).await;
    assert!(reply.body["closed"]["code"] == 1000 || reply.code() == "not_found", "{:?}", reply.body);
}

#[tokio::test]
async fn logging_out_closes_a_polled_session_with_4001() {
    let hub = TestHub::start().await;
    let (api, session) = hub.api().user("Leaver", "candidate").await;
    let polled = Polled::open(&hub, &session.access_token).await;
    let _ = api.post("/v1/auth/logout", json!({"refresh_token": session.refresh_token})).await;
    let reply = polled.poll_at(Vec::new(), 0).await;
    let code = if reply.status == 200 { reply.body["closed"]["code"].clone() } else { json!(reply.code()) };
    assert!(code == 4001 || code == "not_found", "{:?}", reply.body);
    let reply = api.post("/v1/poll/open", json!({"token": session.access_token})).await;
    assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "the token of an ended login opens nothing");
}

#[tokio::test]
async fn a_flood_of_polled_ops_is_rate_limited_as_on_the_gateway() {
    let hub = TestHub::start().await;
    let (_, session) = hub.api().user("Flooder", "candidate").await;
    let mut polled = Polled::open(&hub, &session.access_token).await;
    let mut limited = None;
    let mut n = 0;
    while limited.is_none() && n < 640 {
        let ops: Vec<Value> = (n..n + 64).map(|r| op("typing", r, json!({"conversation_id": "nowhere"}))).collect();
        let refs: Vec<Value> = (n..n + 64).map(|r| json!(r)).collect();
        n += 64;
        let frames = polled.until_answered(ops, &refs).await;
        limited = frames.into_iter().find(|f| f["error"]["code"] == "rate_limited");
    }
    let limited = limited.expect("more than the burst of 300 ops is limited");
    assert!(limited["error"]["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{limited}");
    assert!(n > 256, "not before the burst was spent: limited after {n} ops");
}

//! Generated gateway frames against a real hub process: any text, JSON of any shape, and ops
//! with fields of the right names holding values of every kind (the conversation's and a
//! message's real ids among them). Whatever comes in, the session stays open, answers only in
//! the protocol's frames with the protocol's error codes, and answers the next ping; the hub
//! logs no panic and serves a fresh session afterwards. Seeded, so a failure names its frame
//! and comes back the same on the next run.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, TestRng, TestRunner};
use rapport_protocol::{ErrorCode, MAX_FRAME_BYTES};
use rapport_testkit::{Api, Gw, HubProcess};
use serde_json::{json, Value};

use crate::support::send_data;

/// Frames per session, and sessions: the sessions share nothing, and each stays within the
/// op limit's burst (a `rate_limited` answer is a right answer, but teaches nothing).
const FRAMES: usize = 120;
const SESSIONS: usize = 4;

const OPS: &[&str] = &[
    "identify", "resume", "ping", "message.send", "message.edit", "message.delete", "message.react", "typing", "read", "delivered",
    "presence.set",
];
const FIELDS: &[&str] = &[
    "conversation_id", "message_id", "client_msg_id", "body", "emoji", "on", "seq", "status", "token", "session_id", "last_seq", "presence",
    "reply_to", "attachment_ids", "card", "title", "company", "url",
];

fn value(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        select(ids).prop_map(Value::String),
        select(vec!["🔥", "👍🏽", ":tada:", "", " ", "\u{202e}evil", "0", "-1", "online", "busy"]).prop_map(|s| json!(s)),
        (0usize..3000).prop_map(|n| json!("x".repeat(n))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(field(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(FIELDS).prop_map(str::to_owned), 1 => "[a-z_]{1,12}"]
}

/// An op with the fields it needs, each mostly of the right kind (an id of the world, a short
/// text, an emoji, a seq) and sometimes anything: what reaches the handlers' own checks.
fn shaped(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let text = || prop_oneof![3 => "[ -~]{0,40}".prop_map(Value::String), 1 => any::<String>().prop_map(Value::String), 1 => value(vec!["x".into()])];
    let id = || prop_oneof![4 => select(ids.clone()).prop_map(Value::String), 1 => value(ids.clone())];
    let seq = || prop_oneof![3 => (-2i64..5).prop_map(|n| json!(n)), 1 => any::<i64>().prop_map(|n| json!(n)), 1 => value(vec!["x".into()])];
    let emoji = || prop_oneof![3 => select(vec!["🔥", "👍", ":tada:", "❤️"]).prop_map(|e| json!(e)), 1 => text()];
    let flag = || prop_oneof![3 => any::<bool>().prop_map(Value::Bool), 1 => value(vec!["x".into()])];
    let op = prop_oneof![
        (id(), text(), text()).prop_map(|(c, k, b)| json!({"op": "message.send", "data": {"conversation_id": c, "client_msg_id": k, "body": b}})),
        (id(), id(), text()).prop_map(|(c, m, b)| json!({"op": "message.edit", "data": {"conversation_id": c, "message_id": m, "body": b}})),
        (id(), id()).prop_map(|(c, m)| json!({"op": "message.delete", "data": {"conversation_id": c, "message_id": m}})),
        (id(), id(), emoji(), flag()).prop_map(|(c, m, e, on)| json!({"op": "message.react", "data": {"conversation_id": c, "message_id": m, "emoji": e, "on": on}})),
        id().prop_map(|c| json!({"op": "typing", "data": {"conversation_id": c}})),
        (select(vec!["read", "delivered"]), id(), seq()).prop_map(|(op, c, s)| json!({"op": op, "data": {"conversation_id": c, "seq": s}})),
        prop_oneof![select(vec!["online", "away", "busy", "invisible", "offline"]).prop_map(|s| json!(s)), text()]
            .prop_map(|s| json!({"op": "presence.set", "data": {"status": s}})),
    ];
    (op, any::<u32>()).prop_map(|(mut op, r)| {
        op["ref"] = json!(r);
        op
    })
}

fn frame(ids: Vec<String>) -> impl Strategy<Value = String> {
    let op = prop_oneof![6 => select(OPS).prop_map(str::to_owned), 1 => any::<String>()];
    let reference = prop_oneof![any::<u32>().prop_map(|n| json!(n)), any::<String>().prop_map(Value::String), value(vec!["r".into()])];
    let data = proptest::collection::btree_map(field(), value(ids.clone()), 0..7).prop_map(|m| Value::Object(m.into_iter().collect()));
    prop_oneof![
        1 => any::<String>(),
        1 => value(ids.clone()).prop_map(|v| v.to_string()),
        3 => (op, reference, prop_oneof![4 => data, 1 => value(ids.clone())]).prop_map(|(op, r, data)| json!({"op": op, "ref": r, "data": data}).to_string()),
        6 => shaped(ids).prop_map(|op| op.to_string()),
    ]
}

/// Reads until the pong of `probe`: every frame on the way must be one the protocol has.
/// Counts the answers by op (and errors by code) in `seen`.
async fn until_pong(gw: &mut Gw, probe: &Value, sent: &str, seen: &mut BTreeMap<String, u32>) {
    loop {
        let f = gw.next_frame().await;
        let kind = match f["op"].as_str() {
            Some("error") => format!("error {}", f["error"]["code"].as_str().unwrap_or("?")),
            Some(op) => op.to_owned(),
            None => String::new(),
        };
        *seen.entry(kind).or_default() += 1;
        match f["op"].as_str() {
            Some("pong") if f["ref"] == *probe => return,
            Some("ack" | "pong" | "event") => {}
            Some("error") => {
                let code = &f["error"]["code"];
                assert!(serde_json::from_value::<ErrorCode>(code.clone()).is_ok(), "an error code the protocol has, not {code}, for {sent}");
                assert!(f["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "an error says why: {f} for {sent}");
            }
            _ => panic!("a frame the protocol does not have: {f}, after {sent}"),
        }
    }
}

#[tokio::test]
async fn generated_frames_get_protocol_answers_and_leave_the_session_and_the_hub_working() {
    let hub = HubProcess::start(&[]).await;
    let api = Api::new(&hub.url());
    let (alice, a) = api.user("Alice", "recruiter").await;
    let (_, b) = api.user("Bob", "candidate").await;
    let conversation = alice.direct(&b.user.id).await;
    let (mut seed, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    let sent = seed.request("message.send", send_data(&conversation.id, "seed", "a message to aim at")).await;
    let message_id = sent["data"]["message"]["id"].as_str().expect("the seed message is stored").to_owned();
    // And one of Bob's, which Alice may react to but not change.
    let (mut bob, _) = Gw::ready(&hub.gateway_url(), &b.access_token).await;
    let sent = bob.request("message.send", send_data(&conversation.id, "bob", "not yours to edit")).await;
    let bobs = sent["data"]["message"]["id"].as_str().expect("Bob's message is stored").to_owned();
    let ids = vec![conversation.id.clone(), message_id, bobs, b.user.id.clone(), a.user.id.clone(), "seed".into()];

    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(Config::default().rng_algorithm));
    let frames = frame(ids);
    let mut tried = 0;
    let mut seen = BTreeMap::new();
    for session in 0..SESSIONS {
        let (mut gw, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
        for n in 0..FRAMES {
            let text = frames.new_tree(&mut runner).expect("a frame").current();
            if text.len() > MAX_FRAME_BYTES {
                continue; // too big is closed with 1009 by design (the `limits` tests)
            }
            assert!(gw.try_send_text(text.clone()).await, "the session is still open before {text}");
            let probe = json!(format!("probe-{session}-{n}"));
            assert!(gw.try_send_text(json!({"op": "ping", "ref": probe}).to_string()).await, "the session stayed open after {text}");
            until_pong(&mut gw, &probe, &text, &mut seen).await;
            tried += 1;
        }
        gw.close().await;
    }

    eprintln!("{tried} generated frames; answers: {seen:?}");
    // The generator reaches past the frame decoder into the ops: some are carried out, and
    // some are refused by the handlers themselves (which of those refusals, and how many,
    // depends on the order in which the ops landed).
    assert!(seen.get("ack").is_some_and(|&n| n > 0), "some generated ops were carried out: {seen:?}");
    let by_handlers = ["error not_found", "error forbidden", "error gone"].iter().filter_map(|k| seen.get(*k)).sum::<u32>();
    assert!(by_handlers > 0, "some were refused by the handlers, not the decoder: {seen:?}");

    let log = hub.log_text();
    assert!(!log.contains("panicked"), "the hub panicked on a frame:\n{log}");
    let (mut fresh, _) = Gw::ready(&hub.gateway_url(), &a.access_token).await;
    let after = fresh.request("message.send", send_data(&conversation.id, "after-the-fuzz", "still working")).await;
    assert_eq!(after["op"], "ack", "a fresh session works after {tried} generated frames: {after}");
}

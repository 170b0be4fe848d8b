//! Runs [`OPS`] over both transports of a gateway session (WebSocket and long polling): every
//! refusal of every op, then every op from its rightful caller.

use rapport_protocol::gateway::{
    ClientOp, ConversationTarget, EditMessage, Identify, MessageTarget, PresenceSet, ReactMessage, Resume, SeqTarget,
    SendMessage,
};
use rapport_protocol::close;
use rapport_protocol::rest::ChosenStatus;
use rapport_testkit::{Api, Closed, Gw};
use serde_json::{json, Value};

use super::world::{Ids, World};
use super::{Op, OpRefusal, OPS};

/// Exhaustive on purpose: a new `ClientOp` does not compile until it is listed here, beside
/// [`every_op`], which must then give it a value (and `coverage` checks its row exists).
pub fn listed(op: &ClientOp) {
    match op {
        ClientOp::Identify(_)
        | ClientOp::Resume(_)
        | ClientOp::Ping
        | ClientOp::MessageSend(_)
        | ClientOp::MessageEdit(_)
        | ClientOp::MessageDelete(_)
        | ClientOp::MessageReact(_)
        | ClientOp::Typing(_)
        | ClientOp::Read(_)
        | ClientOp::Delivered(_)
        | ClientOp::PresenceSet(_) => {}
    }
}

/// One value of every `ClientOp` variant.
pub fn every_op() -> Vec<ClientOp> {
    let target = || MessageTarget { conversation_id: "c".into(), message_id: "m".into() };
    vec![
        ClientOp::Identify(Identify { token: "t".into(), presence: ChosenStatus::Online }),
        ClientOp::Resume(Resume { token: "t".into(), session_id: "s".into(), last_seq: 0 }),
        ClientOp::Ping,
        ClientOp::MessageSend(SendMessage::default()),
        ClientOp::MessageEdit(EditMessage { conversation_id: "c".into(), message_id: "m".into(), body: "b".into() }),
        ClientOp::MessageDelete(target()),
        ClientOp::MessageReact(ReactMessage { conversation_id: "c".into(), message_id: "m".into(), emoji: "👍".into(), on: true }),
        ClientOp::Typing(ConversationTarget { conversation_id: "c".into() }),
        ClientOp::Read(SeqTarget { conversation_id: "c".into(), seq: 1 }),
        ClientOp::Delivered(SeqTarget { conversation_id: "c".into(), seq: 1 }),
        ClientOp::PresenceSet(PresenceSet { status: ChosenStatus::Away }),
    ]
}

/// An identified gateway session, over a WebSocket or carried by polls.
enum Session {
    Socket(Box<Gw>),
    Poll { api: Api, id: String, last_seq: u64, next_ref: u64 },
}

impl Session {
    /// Identifies with `token` over the `"socket"` or the `"poll"` transport.
    async fn open(world: &World, transport: &str, token: &str) -> Session {
        match transport {
            "socket" => Session::Socket(Box::new(Gw::ready(&world.hub.gateway_url(), token).await.0)),
            _ => Session::poll(world, token).await,
        }
    }

    async fn poll(world: &World, token: &str) -> Session {
        let api = world.hub.api();
        let opened = api.post("/v1/poll/open", json!({"token": token})).await;
        assert_eq!(opened.status, 200, "poll open: {:?}", opened.body);
        let id = opened.body["session_id"].as_str().expect("a session id").to_owned();
        Session::Poll { api, id, last_seq: 0, next_ref: 1 }
    }

    /// Sends an op and returns its answer (`ack`, `error`, `pong`).
    async fn request(&mut self, op: &str, data: Value) -> Value {
        match self {
            Session::Socket(gw) => gw.request(op, data).await,
            Session::Poll { api, id, last_seq, next_ref } => {
                let reference = json!(format!("p{next_ref}"));
                *next_ref += 1;
                let mut ops = vec![json!({"op": op, "ref": reference, "data": data})];
                loop {
                    let reply = api.post(&format!("/v1/poll/{id}"), json!({"ops": ops, "last_seq": *last_seq})).await;
                    assert_eq!(reply.status, 200, "poll: {:?}", reply.body);
                    let frames = reply.body["frames"].as_array().cloned().unwrap_or_default();
                    let mut answer = None;
                    for frame in frames {
                        if frame["op"] == "event" {
                            *last_seq = (*last_seq).max(frame["seq"].as_u64().expect("an event seq"));
                        } else if frame["ref"] == reference {
                            answer = Some(frame);
                        }
                    }
                    if let Some(answer) = answer {
                        return answer;
                    }
                    assert!(reply.body.get("closed").is_none(), "the polled session closed: {:?}", reply.body);
                    ops.clear();
                }
            }
        }
    }
}

/// An error frame's code and message.
fn error_of(reply: &Value) -> (&str, &str) {
    assert_eq!(reply["op"], "error", "expected an error: {reply}");
    (reply["error"]["code"].as_str().unwrap_or(""), reply["error"]["message"].as_str().unwrap_or(""))
}

/// Sends `op` with `real` and with `fake` ids: both must be the error `code` with `message`.
async fn same_for_real_and_made_up(session: &mut Session, op: &Op, label: &str, real: &Ids, fake: &Ids, code: &str, message: &str) {
    let for_real = session.request(op.name, (op.data)(real)).await;
    assert_eq!(error_of(&for_real), (code, message), "{label}: {for_real}");
    let for_fake = session.request(op.name, (op.data)(fake)).await;
    assert_eq!(error_of(&for_fake), error_of(&for_real), "{label}: a made-up id must be answered exactly as a real one");
}

/// The first frame on a new connection is `op`: the connection must close with 4001.
async fn closes_unauthenticated(world: &World, op: &str, data: Value, label: &str) {
    let mut gw = Gw::connect(&world.hub.gateway_url()).await;
    gw.send_text(json!({"op": op, "ref": 1, "data": data}).to_string()).await;
    assert_eq!(gw.closed().await, Closed::Code(close::NOT_AUTHENTICATED), "{label}");
    let frames = gw.take_backlog();
    assert!(frames.iter().all(|f| f["op"] != "ready" && f["op"] != "resumed"), "{label}: {frames:?}");
}

/// The token values of a `BadToken` refusal: none, malformed ones, the owner's expired one and
/// that of her ended login.
fn bad_tokens(world: &World) -> Vec<Option<String>> {
    let mut tokens = vec![None, Some(String::new()), Some(world.expired_token.clone()), Some(world.logged_out_token.clone())];
    for header in world.malformed_authorizations() {
        tokens.push(Some(header.strip_prefix("Bearer ").unwrap_or(&header).to_owned()));
    }
    tokens.retain(|t| t.as_deref() != Some(world.ids.owner_token.as_str()));
    tokens
}

#[tokio::test]
async fn no_op_is_served_before_a_valid_identify_or_resume_and_nothing_changes() {
    let world = World::build().await;
    let before = world.snapshot().await;
    for op in OPS {
        for refusal in op.refusals {
            let label = format!("{} ({refusal:?})", op.name);
            match refusal {
                OpRefusal::BeforeIdentify => closes_unauthenticated(&world, op.name, (op.data)(&world.ids), &label).await,
                OpRefusal::BadToken => {
                    for token in bad_tokens(&world) {
                        let mut data = (op.data)(&world.ids);
                        match &token {
                            Some(token) => data["token"] = json!(token),
                            None => {
                                data.as_object_mut().expect("an object").remove("token");
                            }
                        }
                        closes_unauthenticated(&world, op.name, data, &format!("{label} with {token:?}")).await;
                    }
                }
                _ => {}
            }
        }
    }
    // The long-polling transport opens with the data of an `identify`: the same tokens are 401s.
    for token in bad_tokens(&world) {
        let body = match &token {
            Some(token) => json!({"token": token}),
            None => json!({}),
        };
        let reply = world.hub.api().post("/v1/poll/open", body).await;
        let expected = if token.is_some() { (401, "unauthorized") } else { (400, "invalid_payload") };
        assert_eq!((reply.status, reply.code()), expected, "poll open with {token:?}: {:?}", reply.body);
    }
    assert_eq!(world.snapshot().await, before, "an unauthenticated op changed something");
}

#[tokio::test]
async fn a_session_whose_login_ends_is_closed_and_its_polls_end() {
    let world = World::build().await;
    let api = world.hub.api();
    let session: rapport_protocol::Session = serde_json::from_value(
        api.post("/v1/auth/login", json!({"email": world.ids.member_email, "password": "correct horse"})).await.body,
    )
    .expect("a Session");
    let (mut gw, _) = Gw::ready(&world.hub.gateway_url(), &session.access_token).await;
    let mut polled = Session::poll(&world, &session.access_token).await;
    assert_eq!(polled.request("ping", json!({})).await["op"], "pong");
    assert_eq!(api.post("/v1/auth/logout", json!({"refresh_token": session.refresh_token})).await.status, 204);
    assert_eq!(gw.closed().await, Closed::Code(close::NOT_AUTHENTICATED), "the open socket of an ended login is closed");
    let Session::Poll { id, .. } = &polled else { unreachable!() };
    let path = format!("/v1/poll/{id}");
    let first = api.post(&path, json!({"ops": [{"op": "typing", "ref": 1, "data": {"conversation_id": world.ids.conversation}}], "last_seq": 0})).await;
    match first.status {
        200 => assert_eq!(first.body["closed"]["code"], close::NOT_AUTHENTICATED, "{:?}", first.body),
        _ => assert_eq!((first.status, first.code()), (404, "not_found"), "{:?}", first.body),
    }
    let then = api.post(&path, json!({"ops": [], "last_seq": 0})).await;
    assert_eq!((then.status, then.code()), (404, "not_found"), "an ended polled session is gone: {:?}", then.body);
    assert!(first.body["frames"].as_array().is_none_or(|frames| frames.iter().all(|f| f["op"] != "ack")), "no op of an ended login is served: {:?}", first.body);
}

#[tokio::test]
async fn every_op_refuses_outsiders_and_members_who_may_not_over_both_transports_and_nothing_changes() {
    let world = World::build().await;
    let (ids, made_up) = (&world.ids, &world.made_up);
    // The member's own socket: every event a refused op caused would reach it before those of
    // the owner's rightful ops below.
    let (mut watcher, _) = Gw::ready(&world.hub.gateway_url(), &world.member_token).await;
    let before = world.snapshot().await;
    for transport in ["socket", "poll"] {
        let mut outsider = Session::open(&world, transport, &world.outsider_token).await;
        let mut member = Session::open(&world, transport, &world.member_token).await;
        for op in OPS {
            for refusal in op.refusals {
                let label = format!("{} over the {transport} ({refusal:?})", op.name);
                match *refusal {
                    OpRefusal::BeforeIdentify | OpRefusal::BadToken => {}
                    OpRefusal::AlreadyIdentified => {
                        let reply = outsider.request(op.name, (op.data)(ids)).await;
                        assert_eq!(error_of(&reply).0, "invalid_payload", "{label}: {reply}");
                    }
                    OpRefusal::OthersSession if transport == "socket" => {
                        // With the outsider's own valid token: someone else's session is as
                        // unknown as a made-up one.
                        let mut answers = Vec::new();
                        for session_id in [&ids.gateway_session, &made_up.gateway_session] {
                            let mut gw = Gw::connect(&world.hub.gateway_url()).await;
                            let data = json!({"token": world.outsider_token, "session_id": session_id, "last_seq": 0});
                            let reply = gw.request("resume", data).await;
                            answers.push(reply);
                            gw.close().await;
                        }
                        assert_eq!(answers[0]["op"], "invalid_session", "{label}: {}", answers[0]);
                        assert_eq!(answers[0], answers[1], "{label}: the same answer as for a made-up session");
                    }
                    OpRefusal::OthersSession => {}
                    OpRefusal::Outsider(what) => {
                        same_for_real_and_made_up(&mut outsider, op, &label, ids, made_up, "not_found", &format!("{what} not found")).await;
                    }
                    OpRefusal::ForeignMessage => {
                        let (foreign, fake) = (ids.with_messages(&ids.foreign), ids.with_messages(&made_up.message));
                        same_for_real_and_made_up(&mut member, op, &label, &foreign, &fake, "not_found", "message not found").await;
                    }
                    OpRefusal::OnlyUploader => {
                        let (unsent, fake) = (ids.with_attachments(&ids.unsent), ids.with_attachments(&made_up.unsent));
                        same_for_real_and_made_up(&mut member, op, &label, &unsent, &fake, "not_found", "attachment not found").await;
                    }
                    OpRefusal::NotSender => {
                        let reply = member.request(op.name, (op.data)(ids)).await;
                        assert_eq!(error_of(&reply).0, "forbidden", "{label}: {reply}");
                    }
                    OpRefusal::ForeignReply => {
                        let reply_to = |id: &str| json!({"conversation_id": ids.conversation, "client_msg_id": "reply", "body": "Re", "reply_to": id});
                        let for_real = member.request(op.name, reply_to(&ids.foreign)).await;
                        assert_eq!(error_of(&for_real).0, "invalid_payload", "{label}: {for_real}");
                        let for_fake = member.request(op.name, reply_to(&made_up.foreign)).await;
                        assert_eq!(error_of(&for_fake), error_of(&for_real), "{label}: the same answer as for a made-up reply_to");
                    }
                    OpRefusal::CandidateCard => {
                        let card = json!({"conversation_id": ids.conversation, "client_msg_id": "card", "body": "",
                            "card": {"title": "Rust engineer", "company": "Acme"}});
                        let reply = member.request(op.name, card).await;
                        assert_eq!(error_of(&reply).0, "forbidden", "{label}: {reply}");
                    }
                }
            }
        }
    }
    assert_eq!(world.snapshot().await, before, "a refused op changed what someone sees, or a table");

    // The owner's rightful ops succeed: the refusals were about who sent them.
    let (mut owner, _) = Gw::ready(&world.hub.gateway_url(), &ids.owner_token).await;
    for op in OPS {
        match op.name {
            "identify" | "resume" => {
                let mut gw = Gw::connect(&world.hub.gateway_url()).await;
                let reference = gw.send_op(op.name, (op.data)(ids)).await;
                let answer = gw.find(|f| f["ref"] == reference).await.expect("an answer");
                let expected = if op.name == "identify" { "ready" } else { "resumed" };
                assert_eq!(answer["op"], expected, "{} by the owner: {answer}", op.name);
                gw.close().await;
            }
            _ => {
                let reply = owner.request(op.name, (op.data)(ids)).await;
                let expected = if op.name == "ping" { "pong" } else { "ack" };
                assert_eq!(reply["op"], expected, "{} by the owner: {reply}", op.name);
            }
        }
    }
    let first = watcher.find(|f| f["op"] == "event" && f["type"] != "presence").await.expect("the owner's message reaches the member");
    assert_eq!(
        (first["type"].as_str(), first["data"]["message"]["client_msg_id"].as_str()),
        (Some("message.created"), Some("gw-send")),
        "the first event the member gets is that of the owner's send, none of a refused op: {first}"
    );
}

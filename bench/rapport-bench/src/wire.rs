//! The two wire protocols, reduced to what the load generator needs: open an authenticated
//! session, encode a send, answer heartbeats, and classify received frames cheaply.
//!
//! - Rapport protocol v1: `hello`, `identify` → `ready` (or `resume` → `invalid_session`), ops
//!   with a numeric `ref`, client pings every heartbeat interval.
//! - Socket.IO v5 over Engine.IO v4, WebSocket transport only (no polling, no upgrade):
//!   `0{open}` from the server, `40{auth}` → `40{sid}`, events `42["name",arg]`, events with an
//!   ack id `42<id>[...]` and acks `43<id>[...]`, server pings `2` answered with `3`.
//!
//! Received frames are classified by looking up a few keys in the text instead of decoding the
//! whole JSON: at 100k frames/s a full decode per delivery would make the generator, not the
//! server, the bottleneck. The keys are unambiguous in these frames (the bodies the benchmark
//! sends contain no quotes or backslashes).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures_util::{SinkExt as _, StreamExt as _};
use rapport_protocol::gateway::{ClientFrame, ClientOp, Identify, Resume, SendMessage, ServerFrame};
use rapport_protocol::rest::ChosenStatus;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

use crate::server::Target;

/// One WebSocket connection.
pub type Ws = WebSocketStream<TcpStream>;

/// How long opening a session may take before it counts as failed.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens a WebSocket with small buffers: thousands of them are open at once.
pub async fn dial(addr: SocketAddr, path: &str) -> anyhow::Result<Ws> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(4 * 1024 * 1024));
    let (ws, _) = tokio_tungstenite::client_async_with_config(format!("ws://{addr}{path}"), tcp, Some(config)).await?;
    Ok(ws)
}

/// The gateway path of a target.
pub fn path(target: Target) -> &'static str {
    if target.is_rapport() {
        "/v1/gateway"
    } else {
        "/socket.io/?EIO=4&transport=websocket"
    }
}

/// A session that is ready: rooms joined / `ready` received.
pub struct Opened {
    /// The socket.
    pub ws: Ws,
    /// Rapport session id (for `resume`); empty for Socket.IO.
    pub session_id: String,
    /// Conversations with their `last_seq` at the moment of `ready`.
    pub conversations: Vec<(String, i64)>,
    /// Rapport: the heartbeat interval announced in `hello`. Socket.IO: the server pings.
    pub heartbeat: Duration,
}

/// Opens a session: identify (Rapport) or connect with the JWT (Socket.IO), until `ready`.
/// With `resume` (Rapport only), tries `resume` first and falls back to `identify` after
/// `invalid_session`; frames replayed by a successful resume are passed to `replayed`.
pub async fn open(
    target: Target,
    addr: SocketAddr,
    token: &str,
    resume: Option<(&str, u64)>,
    replayed: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<Opened> {
    let mut ws = dial(addr, path(target)).await?;
    tokio::time::timeout(OPEN_TIMEOUT, async {
        if target.is_rapport() {
            open_rapport(ws, token, resume, replayed).await
        } else {
            open_socketio(&mut ws, token).await.map(|(conversations, heartbeat)| Opened {
                ws,
                session_id: String::new(),
                conversations,
                heartbeat,
            })
        }
    })
    .await
    .context("opening timed out")?
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match ws.next().await.context("closed while opening")?? {
            WsMessage::Text(text) => return Ok(text.as_str().to_owned()),
            WsMessage::Close(frame) => bail!("closed while opening: {frame:?}"),
            _ => {}
        }
    }
}

async fn open_rapport(
    mut ws: Ws,
    token: &str,
    resume: Option<(&str, u64)>,
    replayed: &mut (dyn FnMut(&str) + Send),
) -> anyhow::Result<Opened> {
    let hello: ServerFrame = serde_json::from_str(&next_text(&mut ws).await?)?;
    let ServerFrame::Hello { data: hello } = hello else { bail!("expected hello") };
    let heartbeat = Duration::from_millis(hello.heartbeat_interval_ms);
    if let Some((session_id, last_seq)) = resume {
        let op = ClientOp::Resume(Resume { token: token.into(), session_id: session_id.into(), last_seq });
        ws.send(WsMessage::text(encode(op, Some(0)))).await?;
        loop {
            let text = next_text(&mut ws).await?;
            if text.starts_with(r#"{"op":"event""#) {
                replayed(&text);
            } else if text.starts_with(r#"{"op":"resumed""#) {
                return Ok(Opened { ws, session_id: session_id.into(), conversations: Vec::new(), heartbeat });
            } else if text.starts_with(r#"{"op":"invalid_session""#) {
                break;
            }
        }
    }
    let op = ClientOp::Identify(Identify { token: token.into(), presence: ChosenStatus::Online });
    ws.send(WsMessage::text(encode(op, Some(0)))).await?;
    loop {
        let text = next_text(&mut ws).await?;
        if !text.starts_with(r#"{"op":"ready""#) {
            continue; // nothing else can come before ready
        }
        let ServerFrame::Ready { data, .. } = serde_json::from_str(&text)? else { bail!("expected ready") };
        let conversations = data.conversations.iter().map(|c| (c.id.clone(), c.last_seq)).collect();
        return Ok(Opened { ws, session_id: data.session_id, conversations, heartbeat });
    }
}

async fn open_socketio(ws: &mut Ws, token: &str) -> anyhow::Result<(Vec<(String, i64)>, Duration)> {
    let open = next_text(ws).await?;
    let handshake: serde_json::Value = serde_json::from_str(open.strip_prefix('0').context("expected open packet")?)?;
    let ping_interval = Duration::from_millis(handshake["pingInterval"].as_u64().unwrap_or(25_000));
    ws.send(WsMessage::text(format!("40{}", serde_json::json!({ "token": token })))).await?;
    loop {
        let text = next_text(ws).await?;
        if text == "2" {
            ws.send(WsMessage::text("3")).await?;
        } else if text.starts_with("44") {
            bail!("connect refused: {text}");
        } else if let Some(event) = text.strip_prefix(r#"42["ready","#) {
            let ready: serde_json::Value = serde_json::from_str(event.trim_end_matches(']'))?;
            let conversations = ready["conversations"]
                .as_array()
                .context("ready.conversations")?
                .iter()
                .map(|c| (c["id"].as_str().unwrap_or("").to_owned(), c["last_seq"].as_i64().unwrap_or(0)))
                .collect();
            return Ok((conversations, ping_interval));
        }
    }
}

fn encode(op: ClientOp, reference: Option<u64>) -> String {
    serde_json::to_string(&ClientFrame { reference: reference.map(Into::into), op }).expect("frames serialise")
}

/// A `message.send` with ack id `reference`.
pub fn send_frame(target: Target, reference: u64, conversation_id: &str, client_msg_id: &str, body: &str) -> String {
    let send = SendMessage { conversation_id: conversation_id.into(), client_msg_id: client_msg_id.into(), body: body.into(), ..SendMessage::default() };
    if target.is_rapport() {
        encode(ClientOp::MessageSend(send), Some(reference))
    } else {
        format!(r#"42{reference}["message.send",{}]"#, serde_json::to_string(&send).expect("serialises"))
    }
}

/// The heartbeat a Rapport client sends every interval.
pub fn ping_frame() -> String {
    encode(ClientOp::Ping, None)
}

/// A delivered message, as far as the benchmark cares.
#[derive(Debug, Clone, Copy)]
pub struct Delivered<'a> {
    /// Rapport: the session event seq (for `resume`); 0 for Socket.IO.
    pub event_seq: u64,
    /// Conversation.
    pub conversation_id: &'a str,
    /// Per-conversation seq.
    pub seq: i64,
    /// Message id.
    pub id: &'a str,
    /// Body as sent.
    pub body: &'a str,
}

/// What a received frame is.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// A new message (`message.created` / `"message"`).
    Message(Delivered<'a>),
    /// The ack of our `message.send` with this reference, and the stored message.
    Ack { reference: u64, message: Option<Delivered<'a>> },
    /// An error answering one of our ops.
    Error,
    /// Rapport `pong`.
    Pong,
    /// Engine.IO ping from the server: answer `3`.
    Ping,
    /// Any other event (presence, receipts, …).
    OtherEvent,
    /// Anything else.
    Other,
}

/// Classifies a text frame.
pub fn classify(target: Target, text: &str) -> Incoming<'_> {
    if target.is_rapport() {
        if let Some(rest) = text.strip_prefix(r#"{"op":"event","seq":"#) {
            if !text.contains(r#""type":"message.created""#) {
                return Incoming::OtherEvent;
            }
            let event_seq = leading_number(rest).unwrap_or(0) as u64;
            return message_at(text, r#""message":{"#).map_or(Incoming::OtherEvent, |mut m| {
                m.event_seq = event_seq;
                Incoming::Message(m)
            });
        }
        if text.starts_with(r#"{"op":"pong""#) {
            return Incoming::Pong;
        }
        if text.starts_with(r#"{"op":"ack""#) {
            let reference = number_after(text, r#""ref":"#).unwrap_or(-1) as u64;
            return Incoming::Ack { reference, message: message_at(text, r#""message":{"#) };
        }
        if text.starts_with(r#"{"op":"error""#) {
            return Incoming::Error;
        }
        Incoming::Other
    } else {
        if text == "2" {
            return Incoming::Ping;
        }
        if let Some(rest) = text.strip_prefix("42") {
            if rest.starts_with(r#"["message","#) {
                return message_at(text, r#"["message",{"#).map_or(Incoming::OtherEvent, Incoming::Message);
            }
            return Incoming::OtherEvent;
        }
        if let Some(rest) = text.strip_prefix("43") {
            let reference = leading_number(rest).unwrap_or(-1) as u64;
            if text.contains(r#""error":"#) {
                return Incoming::Error;
            }
            return Incoming::Ack { reference, message: message_at(text, r#""message":{"#) };
        }
        Incoming::Other
    }
}

/// The session seq of a Rapport `event` frame (any event type): what a long-polled session
/// sends back as its `last_seq`.
pub fn event_seq(text: &str) -> Option<u64> {
    leading_number(text.strip_prefix(r#"{"op":"event","seq":"#)?).map(|seq| seq as u64)
}

/// The message object that starts right after `marker`.
fn message_at<'a>(text: &'a str, marker: &str) -> Option<Delivered<'a>> {
    let start = text.find(marker)? + marker.len() - 1;
    let object = &text[start..];
    Some(Delivered {
        event_seq: 0,
        conversation_id: string_after(object, r#""conversation_id":""#)?,
        seq: number_after(object, r#""seq":"#)?,
        id: string_after(object, r#""id":""#)?,
        body: string_after(object, r#""body":""#)?,
    })
}

fn string_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(key)? + key.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

fn number_after(text: &str, key: &str) -> Option<i64> {
    leading_number(&text[text.find(key)? + key.len()..])
}

fn leading_number(text: &str) -> Option<i64> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rapport_message_event_is_found_with_both_seqs() {
        let text = r#"{"op":"event","seq":7,"type":"message.created","data":{"message":{"id":"m1","conversation_id":"c1","seq":42,"sender_id":"u","body":"b 1 2 3","client_msg_id":"x","created_at":"t"}}}"#;
        let Incoming::Message(m) = classify(Target::Rapport, text) else { panic!("not a message") };
        assert_eq!((m.event_seq, m.conversation_id, m.seq, m.id, m.body), (7, "c1", 42, "m1", "b 1 2 3"));
    }

    #[test]
    fn socketio_event_and_ack_are_told_apart() {
        let event = r#"42["message",{"id":"m1","conversation_id":"c1","seq":3,"sender_id":"u","client_msg_id":"x","body":"hi","created_at":"t"}]"#;
        assert!(matches!(classify(Target::SocketIo, event), Incoming::Message(m) if m.seq == 3 && m.body == "hi"));
        let ack = r#"4317[{"message":{"id":"m1","conversation_id":"c1","seq":3,"sender_id":"u","client_msg_id":"x","body":"hi","created_at":"t"}}]"#;
        assert!(matches!(classify(Target::SocketIo, ack), Incoming::Ack { reference: 17, message: Some(m) } if m.seq == 3));
        assert!(matches!(classify(Target::SocketIo, "2"), Incoming::Ping));
    }

    #[test]
    fn event_seq_is_read_from_any_event_and_only_from_events() {
        assert_eq!(event_seq(r#"{"op":"event","seq":12,"type":"presence.updated","data":{}}"#), Some(12));
        assert_eq!(event_seq(r#"{"op":"ack","ref":12,"data":{}}"#), None);
    }

    #[test]
    fn rapport_ack_carries_the_ref() {
        let ack = r#"{"op":"ack","ref":99,"data":{"message":{"id":"m","conversation_id":"c","seq":1,"sender_id":"u","body":"b","client_msg_id":"x","created_at":"t"}}}"#;
        assert!(matches!(classify(Target::Rapport, ack), Incoming::Ack { reference: 99, message: Some(_) }));
    }
}

//! A strict gateway client: every frame it reads is checked to be JSON with an `op`.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::WAIT;

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// A close frame with this code.
    Code(u16),
    /// The socket ended without a close frame.
    Dropped,
}

/// One gateway connection.
pub struct Gw {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `hello` frame.
    pub hello: Value,
    next_ref: u64,
    /// Events and frames read while waiting for something else, in arrival order.
    backlog: std::collections::VecDeque<Value>,
}

impl Gw {
    /// Connects and reads `hello`.
    pub async fn connect(url: &str) -> Gw {
        // TCP_NODELAY: small frames leave at once.
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await.expect("gateway connect");
        let mut gw = Gw { socket, hello: Value::Null, next_ref: 1, backlog: Default::default() };
        gw.hello = gw.next().await;
        assert_eq!(gw.hello["op"], "hello", "first frame must be hello: {}", gw.hello);
        gw
    }

    /// Connects, identifies (online) and returns the connection and the `ready` data.
    pub async fn ready(url: &str, token: &str) -> (Gw, Value) {
        let mut gw = Gw::connect(url).await;
        let ready = gw.identify(token, "online").await;
        (gw, ready)
    }

    /// Sends `identify` and waits for `ready`; returns its data.
    pub async fn identify(&mut self, token: &str, presence: &str) -> Value {
        let r = self.send_op("identify", json!({"token": token, "presence": presence})).await;
        let frame = self.next_frame().await;
        assert_eq!(frame["op"], "ready", "identify must be answered by ready: {frame}");
        assert_eq!(frame["ref"], r, "ready echoes the ref");
        frame["data"].clone()
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.socket.send(Message::Text(text.into().into())).await.expect("send");
    }

    /// Sends a raw text frame; `false` when the connection is already gone.
    pub async fn try_send_text(&mut self, text: impl Into<String>) -> bool {
        self.socket.send(Message::Text(text.into().into())).await.is_ok()
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket.send(Message::Binary(bytes.into())).await.expect("send");
    }

    /// Sends `{"op", "ref", "data"}` with a fresh numeric ref; returns the ref.
    pub async fn send_op(&mut self, op: &str, data: Value) -> Value {
        let r = json!(self.next_ref);
        self.next_ref += 1;
        self.send_text(json!({"op": op, "ref": r, "data": data}).to_string()).await;
        r
    }

    /// Sends an op and waits for its `ack` or `error` (other frames are kept for later).
    pub async fn request(&mut self, op: &str, data: Value) -> Value {
        let r = self.send_op(op, data).await;
        self.reply_to(&r).await
    }

    /// Waits for the `ack`/`error`/`pong` that carries `r`, keeping other frames.
    pub async fn reply_to(&mut self, r: &Value) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.read_socket())
                .await
                .unwrap_or_else(|_| panic!("no reply to ref {r}"));
            if frame.get("ref") == Some(r) && frame["op"] != "event" {
                return frame;
            }
            self.backlog.push_back(frame);
        }
    }

    /// The next frame, from the backlog first.
    pub async fn next_frame(&mut self) -> Value {
        if let Some(frame) = self.backlog.pop_front() {
            return frame;
        }
        tokio::time::timeout(WAIT, self.read_socket()).await.expect("a frame within the wait")
    }

    async fn next(&mut self) -> Value {
        self.next_frame().await
    }

    /// The next event whose `type` is `kind` (earlier other frames are kept).
    pub async fn event(&mut self, kind: &str) -> Value {
        self.find(|f| f["op"] == "event" && f["type"] == kind)
            .await
            .unwrap_or_else(|| panic!("no {kind} event"))
    }

    /// The first frame (backlog or socket) that matches, within [`WAIT`]; `None` otherwise.
    pub async fn find(&mut self, matches: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.read_socket()).await.ok()?;
            if matches(&frame) {
                return Some(frame);
            }
            self.backlog.push_back(frame);
        }
    }

    /// Every frame that arrives within `window` (backlog first).
    pub async fn drain_for(&mut self, window: std::time::Duration) -> Vec<Value> {
        let mut frames: Vec<Value> = self.backlog.drain(..).collect();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(frame) = tokio::time::timeout_at(deadline, self.read_socket()).await {
            frames.push(frame);
        }
        frames
    }

    async fn read_socket(&mut self) -> Value {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("hub frames are JSON");
                    assert!(frame["op"].is_string(), "every frame has an op: {frame}");
                    return frame;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                Some(Err(err)) => panic!("socket error: {err}"),
                None => panic!("socket closed"),
            }
        }
    }

    /// Reads until the connection ends (within `within`); how it ended. Text frames read on
    /// the way are kept in the backlog.
    pub async fn closed_within(&mut self, within: std::time::Duration) -> Closed {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("connection still open after {within:?}"));
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return Closed::Code(u16::from(frame.code)),
                Some(Ok(Message::Close(None))) => return Closed::Code(u16::from(CloseCode::Status)),
                Some(Ok(Message::Text(text))) => {
                    self.backlog.push_back(serde_json::from_str(text.as_str()).expect("JSON"))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Closed::Dropped,
            }
        }
    }

    /// Takes the frames read while waiting for something else (e.g. by [`Gw::closed`]), in
    /// arrival order.
    pub fn take_backlog(&mut self) -> Vec<Value> {
        self.backlog.drain(..).collect()
    }

    /// [`Gw::closed_within`] with [`WAIT`].
    pub async fn closed(&mut self) -> Closed {
        self.closed_within(WAIT).await
    }

    /// Closes the connection cleanly (1000).
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        let _ = tokio::time::timeout(WAIT, async { while self.socket.next().await.is_some() {} }).await;
    }

    /// Drops the TCP connection without a close frame, like a lost network.
    pub fn drop_connection(self) {
        drop(self);
    }
}

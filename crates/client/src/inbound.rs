//! Frames from the hub, whatever carries them: the gateway WebSocket, or the long-polling
//! link (`poll_link`), which hands over the frames of each answer in order.

use futures_util::stream::SplitStream;
use futures_util::StreamExt as _;
use rapport_protocol::gateway::ServerFrame;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The gateway WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one frame from the hub is.
pub(crate) enum Incoming {
    Frame(Box<ServerFrame>),
    /// The connection ended, with the hub's close code if it gave one.
    Closed(Option<u16>),
    Ignored,
}

/// Where a connection's frames come from.
pub(crate) enum Inbound {
    WebSocket(SplitStream<Ws>),
    /// Frames of the poll answers, in order, each event once.
    Poll(mpsc::Receiver<Incoming>),
}

impl Inbound {
    /// The next frame.
    pub(crate) async fn read(&mut self) -> Incoming {
        match self {
            Inbound::WebSocket(stream) => read(stream).await,
            Inbound::Poll(frames) => frames.recv().await.unwrap_or(Incoming::Closed(None)),
        }
    }
}

/// A frame as text, parsed.
pub(crate) fn parse(text: &str) -> Incoming {
    match serde_json::from_str::<ServerFrame>(text) {
        Ok(frame) => Incoming::Frame(Box::new(frame)),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable frame from the hub");
            Incoming::Ignored
        }
    }
}

async fn read(stream: &mut SplitStream<Ws>) -> Incoming {
    match stream.next().await {
        Some(Ok(WsMessage::Text(text))) => parse(text.as_str()),
        Some(Ok(WsMessage::Close(frame))) => Incoming::Closed(frame.map(|f| u16::from(f.code))),
        Some(Ok(_)) => Incoming::Ignored,
        Some(Err(_)) | None => Incoming::Closed(None),
    }
}

//! `tail`: stay connected and print every event until SIGINT/SIGTERM.

use rapport_client::{ConnectionState, Engine, EngineEvent, Transport, WireEvent};
use rapport_protocol::gateway::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::failure::Failure;
use crate::output::Output;

/// Completes on SIGINT or SIGTERM.
pub async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// The protocol's event object: `{"op":"event","seq":S,"type":T,"data":D}` (`seq` null for
/// messages fetched by catch-up).
fn wire_json(w: &WireEvent) -> serde_json::Value {
    let mut v = serde_json::to_value(&w.event).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("op".into(), "event".into());
        obj.insert("seq".into(), w.seq.into());
    }
    v
}

async fn wire_human(engine: &Engine, w: &WireEvent) -> String {
    let name = |id: String| async move { engine.display_name(&id).await.unwrap_or(id) };
    match &w.event {
        Event::MessageCreated { message } => {
            format!("[{}] {} #{}: {}", message.conversation_id, name(message.sender_id.clone()).await, message.seq, message.body)
        }
        Event::Receipt { conversation_id, user_id, kind, seq } => {
            format!("[{conversation_id}] {} {} up to #{seq}", name(user_id.clone()).await, if matches!(kind, rapport_client::ReceiptKind::Read) { "read" } else { "received" })
        }
        Event::Typing { conversation_id, user_id, .. } => format!("[{conversation_id}] {} is typing…", name(user_id.clone()).await),
        Event::Presence(p) => format!("{} is {}", name(p.user_id.clone()).await, p.status.as_str()),
        Event::ConversationCreated { conversation } => format!("new conversation {}", conversation.id),
        Event::Notification { notification } => format!("notification: {} — {}", notification.title, notification.body),
        Event::MessageUpdated { message } => format!("[{}] #{} edited", message.conversation_id, message.seq),
        Event::MessageDeleted { conversation_id, seq, .. } => format!("[{conversation_id}] #{seq} deleted"),
        Event::Reaction { conversation_id, user_id, emoji, on, .. } => {
            format!("[{conversation_id}] {} {} {emoji}", name(user_id.clone()).await, if *on { "reacted" } else { "took back" })
        }
    }
}

fn connection_json(state: &ConnectionState) -> serde_json::Value {
    let mut v = serde_json::to_value(state).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("op".into(), "connection".into());
    }
    v
}

fn connection_human(state: &ConnectionState) -> String {
    match state {
        ConnectionState::Connecting => "-- connecting".into(),
        ConnectionState::Connected { transport: Transport::WebSocket } => "-- connected".into(),
        ConnectionState::Connected { transport: Transport::HttpFallback } => "-- connected (via HTTP fallback)".into(),
        ConnectionState::Reconnecting { attempt, retry_in_ms } => format!("-- reconnecting (attempt {attempt}) in {retry_in_ms} ms"),
        ConnectionState::Offline { reason } => format!("-- offline: {reason}"),
        ConnectionState::SignedOut => "-- signed out".into(),
    }
}

/// Prints events until a stop signal.
pub async fn run(engine: &Engine, out: &Output) -> Result<(), Failure> {
    if engine.me().is_none() {
        return Err(Failure::error(anyhow::anyhow!("not logged in (use register or login)")));
    }
    let mut events = engine.subscribe();
    let mut wire = engine.subscribe_wire();
    engine.start();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            event = events.recv() => match event {
                Ok(EngineEvent::Connection(state)) => {
                    let signed_out = state == ConnectionState::SignedOut;
                    out.emit(&connection_json(&state), || connection_human(&state));
                    if signed_out {
                        return Err(Failure::error(anyhow::anyhow!("signed out: log in again")));
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            w = wire.recv() => match w {
                Ok(w) => {
                    let human = wire_human(engine, &w).await;
                    out.emit(&wire_json(&w), || human);
                }
                Err(RecvError::Lagged(n)) => tracing::warn!(skipped = n, "output fell behind; some events were not printed"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    Ok(())
}

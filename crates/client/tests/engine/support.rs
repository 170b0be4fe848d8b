//! Shared helpers: engines on temp profiles, polling with a deadline, the hub's view.

use std::future::Future;
use std::time::Duration;

use rapport_client::{Engine, EngineConfig, EngineEvent, Role, TokenStoreKind, User};
use rapport_protocol::Message;
use rapport_testkit::Api;
use tokio::sync::broadcast;

/// How long a test waits for something that should happen soon.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// An engine on its own temporary profile, logged in.
pub struct Client {
    pub engine: Engine,
    pub user: User,
    pub dir: tempfile::TempDir,
    pub password: String,
}

impl Client {
    /// Registers a fresh recruiter on `hub_url` through the engine.
    pub async fn register(hub_url: &str, name: &str) -> Client {
        Client::register_as(hub_url, name, Role::Recruiter).await
    }

    /// Registers a fresh user with `role` on `hub_url` through the engine.
    pub async fn register_as(hub_url: &str, name: &str, role: Role) -> Client {
        let dir = tempfile::tempdir().expect("temp profile");
        let engine = open(hub_url, dir.path()).await;
        let email = unique_email(name);
        let password = "correct horse battery".to_owned();
        let user = engine.register(&email, &password, name, role).await.expect("register through the engine");
        Client { engine, user, dir, password }
    }

    /// The same profile opened again (a restarted app), pointing at `hub_url`.
    pub async fn reopen(&self, hub_url: &str) -> Engine {
        open(hub_url, self.dir.path()).await
    }

    /// A REST client with this user's current token (for the hub's view).
    pub async fn api(&self, hub_url: &str) -> Api {
        let session: serde_json::Value = Api::new(hub_url)
            .post("/v1/auth/login", serde_json::json!({"email": self.user.email, "password": self.password}))
            .await
            .body;
        Api::new(hub_url).with_token(session["access_token"].as_str().expect("login for the hub's view"))
    }
}

/// Opens an engine with the file token store.
pub async fn open(hub_url: &str, dir: &std::path::Path) -> Engine {
    let config = EngineConfig { hub_url: hub_url.to_owned(), profile_dir: dir.to_path_buf(), token_store: TokenStoreKind::File };
    Engine::open(config).await.expect("open the engine")
}

pub fn unique_email(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}-{}@example.test", name.to_lowercase().replace(char::is_whitespace, "-"), std::process::id())
}

/// Polls `check` until it returns `Some`, failing with `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The next event matching `pick`, within [`DEADLINE`].
pub async fn next_event<T>(rx: &mut broadcast::Receiver<EngineEvent>, what: &str, mut pick: impl FnMut(&EngineEvent) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for event: {what}"));
        match event {
            Ok(event) => {
                if let Some(value) = pick(&event) {
                    return value;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(e) => panic!("event stream ended while waiting for {what}: {e}"),
        }
    }
}

/// The hub's full history of a conversation, through `after_seq` pages.
pub async fn hub_history(api: &Api, conversation_id: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    loop {
        let after = out.last().map_or(0, |m| m.seq);
        let reply = api.get(&format!("/v1/conversations/{conversation_id}/messages?after_seq={after}&limit=200")).await;
        assert_eq!(reply.status, 200, "hub history: {:?}", reply.body);
        let page: rapport_protocol::rest::MessagePage = serde_json::from_value(reply.body).expect("a message page");
        let more = page.has_more;
        out.extend(page.messages);
        if !more {
            return out;
        }
    }
}

/// Asserts that an engine's cache of a conversation equals the hub's history exactly.
pub async fn assert_cache_equals_hub(who: &str, engine: &Engine, hub: &[Message], conversation_id: &str) {
    let cached = engine.cached_seqs(conversation_id).await.expect("cached seqs");
    let expected: Vec<(i64, String, String)> = hub.iter().map(|m| (m.seq, m.id.clone(), m.client_msg_id.clone())).collect();
    assert_eq!(cached.len(), expected.len(), "{who}: cache has {} messages, hub {}", cached.len(), expected.len());
    assert_eq!(cached, expected, "{who}: cache must equal the hub's history (same seq, id, client_msg_id; no gap, no duplicate)");
    let seqs: Vec<i64> = cached.iter().map(|c| c.0).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{who}: seq must be contiguous from 1");
}

/// Waits until `engine` is connected.
pub async fn connected(engine: &Engine) {
    eventually("engine connected", || async { engine.connection_state().is_connected().then_some(()) }).await;
}

/// One message as the hub has it now.
pub async fn hub_message(api: &Api, conversation_id: &str, message_id: &str) -> Message {
    hub_history(api, conversation_id).await.into_iter().find(|m| m.id == message_id).expect("the hub has the message")
}

/// The conversation's change counter at the hub.
pub async fn hub_last_rev(api: &Api, conversation_id: &str) -> i64 {
    let reply = api.get(&format!("/v1/conversations/{conversation_id}")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["last_rev"].as_i64().expect("last_rev")
}

/// Asserts that an engine shows every message of a conversation as the hub has it: body,
/// edited and deleted times, reactions (in order), files, reply and rev.
pub async fn assert_messages_equal_hub(who: &str, engine: &Engine, hub: &[Message], conversation_id: &str) {
    let page = engine.history(conversation_id, None, 1000).await.expect("history");
    let cached: Vec<_> = page.messages.iter().filter(|m| m.id.is_some()).collect();
    assert_eq!(cached.len(), hub.len(), "{who}: as many messages as the hub");
    for (local, remote) in cached.iter().zip(hub) {
        let reactions: Vec<(String, Vec<String>)> = local.reactions.iter().map(|r| (r.emoji.clone(), r.user_ids.clone())).collect();
        let hub_reactions: Vec<(String, Vec<String>)> = remote.reactions.iter().map(|r| (r.emoji.clone(), r.user_ids.clone())).collect();
        let files: Vec<(Option<String>, String)> = local.attachments.iter().map(|a| (a.id.clone(), a.sha256.clone())).collect();
        let hub_files: Vec<(Option<String>, String)> = remote.attachments.iter().map(|a| (Some(a.id.clone()), a.sha256.clone())).collect();
        // A deletion learnt from the live event carries this device's time (the event has none).
        assert_eq!(
            (local.id.as_deref(), local.body.as_str(), &local.edited_at, local.deleted_at.is_some(), local.rev, &local.reply_to),
            (Some(remote.id.as_str()), remote.body.as_str(), &remote.edited_at, remote.deleted_at.is_some(), remote.rev, &remote.reply_to),
            "{who}: #{} as the hub has it",
            remote.seq
        );
        assert_eq!(reactions, hub_reactions, "{who}: reactions of #{} as the hub has them", remote.seq);
        assert_eq!(files, hub_files, "{who}: files of #{} as the hub has them", remote.seq);
        assert!(local.change.is_none(), "{who}: nothing of #{} is still queued", remote.seq);
    }
}

//! The engine's state, shared by the [`crate::Engine`] handle, the supervisor, the session and
//! the tasks they start, and the small types that travel between them.
//!
//! Everything here is reached through one `Arc<Shared>`; the modules that act on it (`session`,
//! `apply`, `catch_up`, `directory`) depend on this module, never the other way round.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use rapport_protocol::rest::ChosenStatus;
use rapport_protocol::{Conversation, Notification, User};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::HubApi;
use crate::cache::{keys, Cache};
use crate::clock::Clock;
use crate::config::{EngineConfig, TokenStoreKind};
use crate::error::EngineError;
use crate::files::Layout;
use crate::event::{ConnectionState, EngineEvent, NotificationToShow, WireEvent};
use crate::login::Login;
use crate::notify_policy::{Candidate, Policy};
use crate::presence::{AutoAway, PresenceBook};
use crate::quiet::{Changes, Quiet};
use crate::tokens::StoredLogin;
use crate::typing::{TypingBoard, TypingThrottle};

/// Events buffered per subscriber; a subscriber that falls further behind gets `Lagged`.
const EVENT_BUFFER: usize = 4096;
/// Notification candidates waiting for the coalescer; more are dropped (they are only toasts).
const NOTIFY_QUEUE: usize = 1024;
/// Kept downloads take at most this many bytes unless the app says otherwise.
pub(crate) const DEFAULT_DOWNLOAD_LIMIT: u64 = 512 << 20;
/// Commands waiting for the live session (typing, presence).
pub(crate) const LIVE_QUEUE: usize = 64;

/// What the live session is asked to do.
pub(crate) enum LiveCommand {
    Typing(String),
    Presence(ChosenStatus, Option<oneshot::Sender<Result<(), EngineError>>>),
}

/// Counters that `sync` and `wait_sent` watch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Progress {
    /// Catch-ups started so far (each gets the next number).
    pub catch_up_started: u64,
    /// The number of the latest catch-up that completed.
    pub catch_up_done: u64,
    /// Bumped on every outbox change.
    pub outbox_version: u64,
}

/// Counters of what the connection machinery did, for diagnostics screens and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostics {
    /// Gateway connections opened (WebSocket handshake done).
    pub connections: u64,
    /// Sessions started with `identify` (answered by `ready`).
    pub identifies: u64,
    /// Sessions continued with `resume` (answered by `resumed`).
    pub resumes: u64,
    /// `resume`s the hub refused with `invalid_session`.
    pub invalid_sessions: u64,
    /// Access tokens refreshed (by this engine; another process's refresh is only adopted).
    pub refreshes: u64,
    /// Catch-ups completed.
    pub catch_ups: u64,
}

/// The running connection supervisor.
pub(crate) struct Running {
    pub cancel: CancellationToken,
    pub task: JoinHandle<()>,
}

/// The engine's state, shared by the handle, the supervisor and the session.
pub(crate) struct Shared {
    pub config: EngineConfig,
    pub api: HubApi,
    pub cache: Cache,
    pub login: Login,
    events: broadcast::Sender<EngineEvent>,
    wire: broadcast::Sender<WireEvent>,
    state: Mutex<ConnectionState>,
    pub kick_outbox: Notify,
    pub kick_receipts: Notify,
    pub kick_catch_up: Notify,
    /// A send with files was queued (or retried): the uploader looks again.
    pub kick_uploads: Notify,
    pub reconnect: Notify,
    pub live: Mutex<Option<mpsc::Sender<LiveCommand>>>,
    pub progress: watch::Sender<Progress>,
    pub presence: Mutex<PresenceBook>,
    pub auto_away: Mutex<AutoAway>,
    pub chosen: Mutex<ChosenStatus>,
    pub typing_out: Mutex<TypingThrottle>,
    pub typing_in: Mutex<TypingBoard>,
    pub policy: Mutex<Policy>,
    notifier: mpsc::Sender<Candidate>,
    /// Where the time of day comes from (quiet hours).
    pub clock: Clock,
    /// Quiet hours and pauses; what they hold back.
    pub quiet: Arc<Mutex<Quiet>>,
    /// The quiet schedule or pause changed: the quiet task looks again now.
    pub quiet_changed: Arc<Notify>,
    pub running: Mutex<Option<Running>>,
    pub diagnostics: Mutex<Diagnostics>,
    /// The profile's files (staged uploads, kept downloads).
    pub layout: Layout,
    /// The send whose file is being uploaded now, and how to stop that upload (discard).
    pub uploading: Mutex<Option<(String, CancellationToken)>>,
    /// Bytes of kept downloads at most.
    pub download_limit: AtomicU64,
    /// One download per attachment at a time (the others wait and then find it kept).
    pub downloading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Shared {
    /// Opens the profile: creates and migrates the cache and loads the stored login, if any.
    pub(crate) async fn open(config: EngineConfig, clock: Clock) -> Result<Arc<Shared>, EngineError> {
        let cache = Cache::open(&config.profile_dir).await?;
        let layout = Layout::new(&config.profile_dir);
        let login = Login::load(crate::tokens::open(config.token_store, &config.profile_dir)).await?;
        if let Some(user) = login.user() {
            claim_cache(&cache, &layout, &user.id).await?;
        }
        layout.sweep_outgoing(&cache.staged_files().await?).await;
        let chosen = match cache.get_kv(keys::CHOSEN_STATUS).await? {
            Some(s) => serde_json::from_value(serde_json::Value::String(s)).unwrap_or_default(),
            None => ChosenStatus::Online,
        };
        let mut quiet = Quiet::default();
        if let Some(until) = cache.get_kv(keys::PAUSED_UNTIL).await?.and_then(|t| t.parse().ok()) {
            quiet.restore_pause(until);
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (wire, _) = broadcast::channel(EVENT_BUFFER);
        let (notifier, candidates) = mpsc::channel(NOTIFY_QUEUE);
        tokio::spawn(crate::notify_policy::coalesce(candidates, events.clone()));
        let state = if login.user().is_some() {
            ConnectionState::Offline { reason: "not started".into() }
        } else {
            ConnectionState::SignedOut
        };
        Ok(Arc::new(Shared {
            api: HubApi::new(config.base_url())?,
            config,
            cache,
            login,
            events,
            wire,
            state: Mutex::new(state),
            kick_outbox: Notify::new(),
            kick_receipts: Notify::new(),
            kick_catch_up: Notify::new(),
            kick_uploads: Notify::new(),
            reconnect: Notify::new(),
            live: Mutex::new(None),
            progress: watch::channel(Progress::default()).0,
            presence: Mutex::new(PresenceBook::default()),
            auto_away: Mutex::new(AutoAway::default()),
            chosen: Mutex::new(chosen),
            typing_out: Mutex::new(TypingThrottle::default()),
            typing_in: Mutex::new(TypingBoard::default()),
            policy: Mutex::new(Policy::default()),
            notifier,
            clock,
            quiet: Arc::new(Mutex::new(quiet)),
            quiet_changed: Arc::new(Notify::new()),
            running: Mutex::new(None),
            diagnostics: Mutex::new(Diagnostics::default()),
            layout,
            uploading: Mutex::new(None),
            download_limit: AtomicU64::new(DEFAULT_DOWNLOAD_LIMIT),
            downloading: Mutex::new(HashMap::new()),
        })
        .start_quiet())
    }

    /// Starts the quiet-hours task; it ends when the engine is dropped.
    fn start_quiet(self: Arc<Shared>) -> Arc<Shared> {
        let weak: Weak<Shared> = Arc::downgrade(&self);
        let task = crate::quiet::run(self.quiet.clone(), self.clock.clone(), self.quiet_changed.clone(), move |changes| {
            let Some(shared) = weak.upgrade() else { return false };
            shared.quiet_changes(changes);
            true
        });
        tokio::spawn(task);
        self
    }

    /// Acts on what the quiet task saw change: announces the status, shows the digest, and
    /// sends the presence when busy-while-quiet changed what others should see.
    fn quiet_changes(&self, changes: Changes) {
        if changes.is_empty() {
            return;
        }
        if let Some(status) = changes.status {
            self.emit(EngineEvent::Quiet(status));
        }
        if let Some(digest) = changes.digest {
            self.emit(EngineEvent::Notify(digest));
        }
        if let Some(busy) = changes.busy {
            let chosen = *self.chosen.lock();
            let status = self.auto_away.lock().effective(chosen);
            let before = self.status_with(!busy, status);
            let after = self.effective_status();
            if before != after {
                self.send_presence(after);
            }
        }
    }

    /// Sends the status others should see now (no acknowledgement awaited).
    pub(crate) fn send_presence(&self, status: ChosenStatus) {
        if let Some(live) = self.live_sender() {
            let _ = live.try_send(LiveCommand::Presence(status, None));
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub(crate) fn subscribe_wire(&self) -> broadcast::Receiver<WireEvent> {
        self.wire.subscribe()
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        let _ = self.events.send(event);
    }

    pub(crate) fn emit_wire(&self, event: WireEvent) {
        let _ = self.wire.send(event);
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        let mut current = self.state.lock();
        if *current != state {
            *current = state.clone();
            drop(current);
            self.emit(EngineEvent::Connection(state));
        }
    }

    pub(crate) fn state(&self) -> ConnectionState {
        self.state.lock().clone()
    }

    pub(crate) fn me(&self) -> Option<User> {
        self.login.user()
    }

    pub(crate) fn me_id(&self) -> Result<String, EngineError> {
        self.me().map(|u| u.id).ok_or_else(|| EngineError::Unauthorized("not signed in".into()))
    }

    pub(crate) fn bump_progress(&self, change: impl FnOnce(&mut Progress)) {
        self.progress.send_modify(change);
    }

    /// A message the notification policy wants shown: coalesced and shown, or held for the
    /// digest while notifications are quiet.
    pub(crate) fn candidate(&self, candidate: Candidate) {
        let now = self.clock.now();
        {
            let mut quiet = self.quiet.lock();
            if quiet.was_read(&candidate.conversation_id, candidate.seq) {
                return;
            }
            if quiet.reason(now).is_some() {
                quiet.set_my_role(self.me().map(|u| u.role));
                quiet.hold_message(&candidate.conversation_id, candidate.seq, &candidate.sender_id, &candidate.sender_name, candidate.sender_role);
                return;
            }
        }
        let _ = self.notifier.try_send(candidate);
    }

    /// A hub notification the policy wants shown: shown now, or held while quiet.
    pub(crate) fn alert(&self, notification: &Notification) {
        let now = self.clock.now();
        {
            let mut quiet = self.quiet.lock();
            if quiet.reason(now).is_some() {
                quiet.hold_alert(&notification.id);
                return;
            }
        }
        self.emit(EngineEvent::Notify(NotificationToShow {
            title: notification.title.clone(),
            body: notification.body.clone(),
            // An application update is about a conversation (the hub names it): a click opens it.
            conversation_id: notification.data.get("conversation_id").and_then(|v| v.as_str()).map(str::to_owned),
            notification_id: Some(notification.id.clone()),
        }));
    }

    /// Where the login is kept now (the file once the keyring failed).
    pub(crate) fn token_store(&self) -> TokenStoreKind {
        self.login.store_kind()
    }

    /// Makes `login` this profile's login: another user's cached data is wiped first.
    pub(crate) async fn adopt(&self, login: StoredLogin) -> Result<User, EngineError> {
        let user = login.user.clone();
        claim_cache(&self.cache, &self.layout, &user.id).await?;
        self.cache.upsert_user(&user).await?;
        self.login.adopt(login).await?;
        if self.state() == ConnectionState::SignedOut {
            self.set_state(ConnectionState::Offline { reason: "not started".into() });
        }
        Ok(user)
    }

    /// The access token, refreshed first when it is about to expire. A refused refresh signs out.
    pub(crate) async fn fresh_token(&self) -> Result<String, EngineError> {
        let result = self.login.fresh_token(&self.api).await;
        self.signed_out_if_refused(result).await
    }

    /// Replaces a stale access token (see [`Login::refresh`]). A refused refresh signs out.
    pub(crate) async fn refresh(&self, stale_access: &str) -> Result<(), EngineError> {
        let result = self.login.refresh(&self.api, stale_access).await;
        self.signed_out_if_refused(result).await
    }

    async fn signed_out_if_refused<T>(&self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        if let Err(EngineError::Unauthorized(_)) = &result {
            self.signed_out().await;
        }
        result
    }

    /// The login is gone: forget the tokens, stop retrying, tell the app.
    pub(crate) async fn signed_out(&self) {
        let had_login = self.login.forget().await;
        self.set_state(ConnectionState::SignedOut);
        if had_login {
            self.emit(EngineEvent::SignedOut);
        }
    }

    /// Runs an authenticated REST call, refreshing the token once on 401.
    pub(crate) async fn authed<T, F, Fut>(&self, call: F) -> Result<T, EngineError>
    where
        F: Fn(HubApi, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, EngineError>>,
    {
        let token = self.fresh_token().await?;
        match call(self.api.clone(), token.clone()).await {
            Err(EngineError::Unauthorized(_)) => {
                self.refresh(&token).await?;
                call(self.api.clone(), self.fresh_token().await?).await
            }
            other => other,
        }
    }

    pub(crate) async fn emit_conversation(&self, conversation_id: &str) {
        let Ok(me) = self.me_id() else { return };
        if let Ok(Some(summary)) = self.cache.summary(conversation_id, &me).await {
            self.emit(EngineEvent::Conversation(Box::new(summary)));
        }
    }

    /// Tells the app how a queued send stands now.
    pub(crate) async fn emit_queued(&self, client_msg_id: &str) {
        let Ok(me) = self.me_id() else { return };
        if let Ok(Some(message)) = self.cache.queued_message(client_msg_id, &me).await {
            self.emit(EngineEvent::Message(message));
        }
    }

    pub(crate) async fn emit_unread(&self) {
        let Ok(me) = self.me_id() else { return };
        if let Ok(total) = self.cache.unread_total(&me).await {
            self.emit(EngineEvent::Unread { total });
        }
    }

    /// Stores a conversation the hub returned and tells the app.
    pub(crate) async fn store_conversation(&self, c: &Conversation) -> Result<(), EngineError> {
        self.cache.upsert_conversation(c).await?;
        self.emit_conversation(&c.id).await;
        Ok(())
    }

    /// The status to identify with and to send: the chosen one; for an `online` user, busy
    /// while quiet (when opted in), else away while auto-away holds.
    pub(crate) fn effective_status(&self) -> ChosenStatus {
        let busy = self.quiet.lock().busy();
        let chosen = *self.chosen.lock();
        let status = self.auto_away.lock().effective(chosen);
        self.status_with(busy, status)
    }

    /// The chosen-or-away status `status`, with busy-while-quiet on or off.
    fn status_with(&self, busy: bool, status: ChosenStatus) -> ChosenStatus {
        let chosen = *self.chosen.lock();
        if busy && chosen == ChosenStatus::Online { ChosenStatus::Busy } else { status }
    }

    pub(crate) fn live_sender(&self) -> Option<mpsc::Sender<LiveCommand>> {
        self.live.lock().clone()
    }
}

/// Now, as the hub writes times (RFC 3339, UTC, milliseconds).
pub(crate) fn now_rfc3339() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// The cache holds one user's data: another user's (files included) is wiped before `user_id`
/// moves in.
async fn claim_cache(cache: &Cache, layout: &Layout, user_id: &str) -> Result<(), EngineError> {
    if cache.get_kv(keys::OWNER).await?.as_deref() != Some(user_id) {
        cache.wipe().await?;
        layout.wipe().await;
        cache.set_kv(keys::OWNER, user_id).await?;
    }
    Ok(())
}

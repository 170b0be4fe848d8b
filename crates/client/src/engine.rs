//! The public handle: [`Engine`]. Commands are async methods; everything that happens arrives
//! on one typed stream ([`Engine::subscribe`]).
//!
//! The handle is cheap to clone (an `Arc` inside). Reads come from the local cache, so they
//! work offline; writes that need the hub either go through the durable outbox (messages) or
//! fail with [`EngineError::Offline`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rapport_protocol::rest::{ChosenStatus, CreateConversation, LoginRequest, RegisterRequest};
use rapport_protocol::{Card, Notification, Presence, Role, ScheduledMessage, Template, User};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use crate::cache::{keys, Op, OutboxEntry, Settled};
use crate::clock::Clock;
use crate::compose::Draft;
use crate::config::{EngineConfig, TokenStoreKind};
use crate::error::{Code, EngineError};
use crate::quiet::Pause;
use crate::quiet_hours::QuietHours;
use crate::event::{ConnectionState, ConversationSummary, QuietStatus, DownloadVariant, EngineEvent, HistoryPage, LocalAttachment, LocalMessage, MessageState, SearchHit, WireEvent};
use crate::shared::{Diagnostics, LiveCommand, Running, Shared};
use crate::tokens::StoredLogin;
use crate::wait::Deadline;

/// The client engine. See the crate docs.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("hub_url", &self.shared.config.hub_url).finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the profile: creates and migrates the cache and loads the stored login, if any.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        Engine::open_with_clock(config, Clock::system()).await
    }

    /// [`Engine::open`] with the time of day read from `clock` (tests start it at a chosen
    /// instant and move it with tokio's paused time).
    pub async fn open_with_clock(config: EngineConfig, clock: Clock) -> Result<Engine, EngineError> {
        Ok(Engine { shared: Shared::open(config, clock).await? })
    }

    /// Every engine event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.shared.subscribe()
    }

    /// Every protocol event as the hub sent it (for `rapport-cli tail --json`).
    pub fn subscribe_wire(&self) -> broadcast::Receiver<WireEvent> {
        self.shared.subscribe_wire()
    }

    /// Creates an account and logs this profile in.
    pub async fn register(&self, email: &str, password: &str, display_name: &str, role: Role) -> Result<User, EngineError> {
        let req = RegisterRequest { email: email.into(), password: password.into(), display_name: display_name.into(), role };
        let session = self.shared.api.register(&req).await?;
        self.shared.adopt(StoredLogin::from_session(session)).await
    }

    /// Logs this profile in. Another user's cached data is wiped first.
    pub async fn login(&self, email: &str, password: &str) -> Result<User, EngineError> {
        let req = LoginRequest { email: email.into(), password: password.into() };
        let session = self.shared.api.login(&req).await?;
        self.shared.adopt(StoredLogin::from_session(session)).await
    }

    /// Stops the connection, revokes the login at the hub (best effort), forgets the tokens and
    /// wipes the cache (outbox included).
    pub async fn logout(&self) -> Result<(), EngineError> {
        self.shutdown().await;
        let refresh = self.shared.login.refresh_token();
        if let Some(refresh) = refresh {
            if let Err(e) = self.shared.api.logout(&refresh).await {
                tracing::info!(error = %e, "logout could not reach the hub; the tokens are forgotten anyway");
            }
        }
        self.shared.cache.wipe().await?;
        self.shared.layout.wipe().await;
        self.shared.presence.lock().clear();
        self.shared.quiet.lock().resume();
        self.shared.quiet_changed.notify_one();
        self.shared.signed_out().await;
        Ok(())
    }

    /// The logged-in user.
    pub fn me(&self) -> Option<User> {
        self.shared.me()
    }

    /// What the connection machinery did so far.
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics { refreshes: self.shared.login.refreshes(), ..*self.shared.diagnostics.lock() }
    }

    /// Where the login is kept now: the keyring, or the file (asked for, or after the keyring
    /// failed).
    pub fn token_store(&self) -> TokenStoreKind {
        self.shared.token_store()
    }

    /// The supervisor's current state.
    pub fn connection_state(&self) -> ConnectionState {
        self.shared.state()
    }

    fn is_running(&self) -> bool {
        self.shared.running.lock().as_ref().is_some_and(|r| !r.task.is_finished())
    }

    /// Starts the connection supervisor (no-op when signed out or already running).
    pub fn start(&self) {
        if self.shared.me().is_none() {
            return;
        }
        let mut running = self.shared.running.lock();
        if running.as_ref().is_some_and(|r| !r.task.is_finished()) {
            return;
        }
        let cancel = CancellationToken::new();
        let task = tokio::spawn(crate::supervisor::run(self.shared.clone(), cancel.clone()));
        *running = Some(Running { cancel, task });
    }

    /// Stops the supervisor: the connection is closed cleanly (1000).
    pub async fn shutdown(&self) {
        let running = self.shared.running.lock().take();
        if let Some(Running { cancel, mut task }) = running {
            cancel.cancel();
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }

    /// Retry now: cuts a backoff wait short, or probes a connection that may be dead (after
    /// wake-from-sleep or a network change).
    pub fn reconnect_now(&self) {
        self.shared.reconnect.notify_one();
    }

    /// Connects (if needed), flushes the outbox and catches every conversation up once, within
    /// `timeout`. `Offline` when the hub could not be reached at all, `Timeout` when it was but
    /// the work did not finish.
    pub async fn sync(&self, timeout: Duration) -> Result<(), EngineError> {
        self.shared.me_id()?;
        let started_here = !self.is_running();
        let target = self.shared.progress.borrow().catch_up_started;
        let connected_before = self.shared.state().is_connected();
        self.start();
        if connected_before {
            self.shared.kick_catch_up.notify_one();
        }
        let deadline = Deadline {
            timeout,
            unfinished: "sync did not finish in time",
            unreachable: "the hub could not be reached in time",
        };
        let result = crate::wait::until(&self.shared, deadline, connected_before, || async {
            let caught_up = self.shared.progress.borrow().catch_up_done > target;
            Ok((caught_up && self.shared.cache.pending_count().await? == 0).then_some(()))
        })
        .await;
        if started_here {
            self.shutdown().await;
        }
        result
    }

    /// Waits until a message from [`Engine::send`] is acknowledged (`Ok` with state `sent` or
    /// later), refused (`Invalid`/`NotFound` with the reason) or `timeout` passes (`Offline` or
    /// `Timeout`; the message stays queued).
    pub async fn wait_sent(&self, client_msg_id: &str, timeout: Duration) -> Result<LocalMessage, EngineError> {
        let me = self.shared.me_id()?;
        let deadline = Deadline {
            timeout,
            unfinished: "not acknowledged in time; it stays queued",
            unreachable: "the hub could not be reached; the message stays queued",
        };
        crate::wait::until(&self.shared, deadline, false, || async {
            if let Some(sent) = self.shared.cache.sent_message(client_msg_id, &me).await? {
                return Ok(Some(sent));
            }
            match self.shared.cache.outbox_entry(client_msg_id).await? {
                // The ack may have moved it from the outbox to the messages since the look above.
                None => match self.shared.cache.sent_message(client_msg_id, &me).await? {
                    Some(sent) => Ok(Some(sent)),
                    None => Err(EngineError::NotFound("no such message in the outbox".into())),
                },
                Some(entry) if entry.state == MessageState::Failed => {
                    let reason = entry.error.unwrap_or(Code::Invalid);
                    Err(EngineError::Invalid { reason, message: format!("the hub refused the message: {reason}") })
                }
                Some(_) => Ok(None),
            }
        })
        .await
    }

    /// Waits until no message is pending in the outbox (failed ones aside), within `timeout`
    /// (`Offline` or `Timeout` as for [`Engine::sync`]).
    pub async fn wait_outbox_empty(&self, timeout: Duration) -> Result<(), EngineError> {
        let deadline = Deadline {
            timeout,
            unfinished: "messages are still queued",
            unreachable: "the hub could not be reached; messages are still queued",
        };
        let connected_before = self.shared.state().is_connected();
        crate::wait::until(&self.shared, deadline, connected_before, || async {
            Ok((self.shared.cache.pending_count().await? == 0).then_some(()))
        })
        .await
    }

    /// Conversations from the cache, most recent activity first.
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>, EngineError> {
        let me = self.shared.me_id()?;
        self.shared.cache.summaries(&me).await
    }

    /// One cached conversation.
    pub async fn conversation(&self, conversation_id: &str) -> Result<ConversationSummary, EngineError> {
        let me = self.shared.me_id()?;
        self.shared.cache.summary(conversation_id, &me).await?.ok_or_else(|| EngineError::NotFound("conversation".into()))
    }

    /// Cached messages before `before_seq` (or the newest), ascending; the newest page ends
    /// with this conversation's pending and failed messages.
    pub async fn history(&self, conversation_id: &str, before_seq: Option<i64>, limit: u32) -> Result<HistoryPage, EngineError> {
        let me = self.shared.me_id()?;
        self.shared.cache.history(conversation_id, before_seq, limit, &me).await
    }

    /// Every cached `(seq, message id, client_msg_id)` of a conversation, ascending: what
    /// consistency checks compare with the hub's history.
    pub async fn cached_seqs(&self, conversation_id: &str) -> Result<Vec<(i64, String, String)>, EngineError> {
        self.shared.cache.seqs(conversation_id).await
    }

    /// Queues a message (on disk, before any network I/O) and returns it as `pending`; the
    /// supervisor sends it when connected.
    pub async fn send(&self, conversation_id: &str, body: &str) -> Result<LocalMessage, EngineError> {
        self.send_draft(conversation_id, &Draft::text(body)).await
    }

    /// Queues a message with a reply and files (copied into the profile first; a file that is
    /// not readable, empty or over 25 MiB is refused here) and returns it as `pending`. Its files
    /// are uploaded when connected (`upload_progress`, `upload_done`, `upload_failed`), then the
    /// message goes out. [`Engine::discard`] cancels it, upload included.
    pub async fn send_draft(&self, conversation_id: &str, draft: &Draft) -> Result<LocalMessage, EngineError> {
        crate::compose::send(&self.shared, Some(conversation_id.to_owned()), None, draft).await
    }

    /// Sends to the direct conversation with the user who has this email: from the cache when
    /// known, else looked up (and created) at the hub; offline and unknown, it is queued with
    /// the email and resolved when the hub is reachable.
    pub async fn send_to_email(&self, email: &str, draft: &Draft) -> Result<LocalMessage, EngineError> {
        // A draft the hub would refuse creates no conversation either.
        crate::compose::check_draft(&self.shared, draft)?;
        match self.direct_by_email(email).await {
            Ok(conversation_id) => self.send_draft(&conversation_id, draft).await,
            Err(EngineError::Offline(_)) => crate::compose::send(&self.shared, None, Some(email.to_lowercase()), draft).await,
            Err(other) => Err(other),
        }
    }

    /// Edits one of this user's messages: `message` is its id, or the `client_msg_id` of one
    /// still in the outbox (whose body is then simply replaced). Queued like a send (it survives
    /// a restart and is applied once); the message as shown now (the new body, with `change`
    /// pending) comes back and as `message_changed`. Someone else's message: `invalid` with
    /// reason `forbidden`; a deleted one: `gone`; body rules as for a send.
    pub async fn edit(&self, message: &str, body: &str) -> Result<LocalMessage, EngineError> {
        crate::compose::edit(&self.shared, message, body).await
    }

    /// Deletes one of this user's messages (`message` as for [`Engine::edit`]), queued like a
    /// send; the message shows as a tombstone at once. A message that never left this device is
    /// discarded instead (`None`, and `message_discarded`).
    pub async fn delete(&self, message: &str) -> Result<Option<LocalMessage>, EngineError> {
        crate::compose::delete(&self.shared, message).await
    }

    /// Adds (`on`) or takes back this user's reaction with `emoji` (one emoji or a
    /// `:shortcode:`) on a sent message, queued like a send; the reactions show it at once
    /// (`reactions`, with `pending`).
    pub async fn react(&self, message_id: &str, emoji: &str, on: bool) -> Result<LocalMessage, EngineError> {
        crate::compose::react(&self.shared, message_id, emoji, on).await
    }

    /// Waits until everything this device queued for a message (its send, its edits, deletion
    /// and reactions) is at the hub: the message as it is then. `Invalid` with the hub's reason
    /// when something of it was refused for good; `Offline` or `Timeout` (it stays queued).
    pub async fn wait_settled(&self, message: &str, timeout: Duration) -> Result<LocalMessage, EngineError> {
        let me = self.shared.me_id()?;
        let deadline = Deadline {
            timeout,
            unfinished: "not applied in time; it stays queued",
            unreachable: "the hub could not be reached; it stays queued",
        };
        crate::wait::until(&self.shared, deadline, false, || async {
            let cache = &self.shared.cache;
            let (message_id, client_msg_id) = match cache.message(message, &me).await? {
                Some(m) => (m.id, Some(m.client_msg_id).filter(|_| m.sender_id == me)),
                // The outbox first: an ack moves a send from there to the messages, never back.
                None if cache.queued_message(message, &me).await?.is_some() => (None, Some(message.to_owned())),
                None => match cache.sent_message(message, &me).await? {
                    Some(m) => (m.id, Some(message.to_owned())),
                    None => return Err(EngineError::NotFound("no such message".into())),
                },
            };
            match cache.settled(message_id.as_deref(), client_msg_id.as_deref()).await? {
                Settled::Yes => match message_id {
                    Some(id) => Ok(cache.message(&id, &me).await?),
                    None => Ok(None),
                },
                Settled::No => Ok(None),
                Settled::Failed(reason) => Err(EngineError::Invalid { reason, message: format!("the hub refused it: {reason}") }),
            }
        })
        .await
    }

    /// One message: cached (by id), or by the `client_msg_id` of a send of this device (still
    /// in the outbox or acknowledged).
    pub async fn message(&self, message: &str) -> Result<LocalMessage, EngineError> {
        let me = self.shared.me_id()?;
        let cache = &self.shared.cache;
        if let Some(m) = cache.message(message, &me).await? {
            return Ok(m);
        }
        // The outbox before the acknowledged sends: an ack moves a send from one to the other.
        if let Some(m) = cache.queued_message(message, &me).await? {
            return Ok(m);
        }
        cache.sent_message(message, &me).await?.ok_or_else(|| EngineError::NotFound("no such message".into()))
    }

    /// A cached attachment by its id.
    pub async fn attachment(&self, attachment_id: &str) -> Result<LocalAttachment, EngineError> {
        self.shared.cache.attachment(attachment_id).await?.ok_or_else(|| EngineError::NotFound("no such attachment in the cache".into()))
    }

    /// The file of an attachment on this device: kept already, or downloaded now (resumed after
    /// a cut-off, verified by its SHA-256; `download_progress`, then `download_done` or
    /// `download_failed`). The path is inside the profile: open or copy it, do not move it.
    /// Kept files take at most [`Engine::set_download_cache_limit`] bytes; the least recently
    /// used go first, and a deleted message's files go at once.
    pub async fn download(&self, attachment_id: &str) -> Result<PathBuf, EngineError> {
        crate::downloads::fetch(&self.shared, attachment_id, DownloadVariant::File).await
    }

    /// The hub's preview (at most 320 px) of an image attachment, kept like a download;
    /// `not_found` for anything but an image.
    pub async fn thumbnail(&self, attachment_id: &str) -> Result<PathBuf, EngineError> {
        crate::downloads::fetch(&self.shared, attachment_id, DownloadVariant::Thumbnail).await
    }

    /// How many bytes of downloaded files this profile keeps at most (default 512 MiB); lowering
    /// it lets go of the least recently used ones now.
    pub async fn set_download_cache_limit(&self, bytes: u64) {
        self.shared.download_limit.store(bytes, std::sync::atomic::Ordering::Relaxed);
        crate::downloads::evict(&self.shared, None).await;
    }

    /// Bytes of downloaded files kept now.
    pub async fn download_cache_usage(&self) -> Result<u64, EngineError> {
        self.shared.cache.download_usage().await
    }

    /// The direct conversation with the user who has this email (cache first, then the hub).
    pub async fn direct_by_email(&self, email: &str) -> Result<String, EngineError> {
        crate::directory::direct_for_email(&self.shared, email).await
    }

    /// The user with exactly this email (asked of the hub).
    pub async fn user_by_email(&self, email: &str) -> Result<User, EngineError> {
        crate::directory::lookup_email(&self.shared, email).await
    }

    /// The cached display name of a user.
    pub async fn display_name(&self, user_id: &str) -> Option<String> {
        self.shared.cache.display_name(user_id).await.ok().flatten()
    }

    /// The id of the cached user with this email (no network).
    pub async fn cached_user_by_email(&self, email: &str) -> Result<Option<String>, EngineError> {
        self.shared.cache.user_by_email(email).await
    }

    /// The cached direct conversation of `me` with `user_id` (no network).
    pub async fn cached_direct_with(&self, me: &str, user_id: &str) -> Result<Option<String>, EngineError> {
        self.shared.cache.direct_with(me, user_id).await
    }

    /// A failed message or change (`client_msg_id`, or a change's `op_id`) goes back to the
    /// outbox queue; a message's files are uploaded again.
    pub async fn retry(&self, id: &str) -> Result<(), EngineError> {
        if !self.shared.cache.retry(id).await? {
            return Err(EngineError::NotFound("nothing failed with that id".into()));
        }
        self.announce_outbox_row(id, None).await;
        self.shared.bump_progress(|p| p.outbox_version += 1);
        self.shared.kick_uploads.notify_one();
        self.shared.kick_outbox.notify_one();
        Ok(())
    }

    /// Removes a failed (or still pending) message or change from the outbox; a message's
    /// upload stops. A pending one that is already on its way may still arrive.
    pub async fn discard(&self, id: &str) -> Result<(), EngineError> {
        let (entry, staged) = self.shared.cache.discard(id).await?.ok_or_else(|| EngineError::NotFound("nothing queued with that id".into()))?;
        crate::compose::stop_upload(&self.shared, id);
        for path in staged {
            self.shared.layout.remove(&path).await;
        }
        self.announce_outbox_row(id, Some(entry)).await;
        self.shared.bump_progress(|p| p.outbox_version += 1);
        Ok(())
    }

    /// Tells the app how what an outbox row is about stands now (`gone`: the row was discarded).
    async fn announce_outbox_row(&self, id: &str, gone: Option<OutboxEntry>) {
        let Ok(me) = self.shared.me_id() else { return };
        let entry = match gone {
            Some(entry) => entry,
            None => match self.shared.cache.outbox_entry(id).await {
                Ok(Some(entry)) => entry,
                _ => return,
            },
        };
        match (entry.op, &entry.message_id, &entry.target_client_msg_id) {
            (Op::Send, _, _) if self.shared.cache.queued_message(id, &me).await.ok().flatten().is_none() => {
                self.shared.emit(EngineEvent::MessageDiscarded { conversation_id: entry.conversation_id.unwrap_or_default(), client_msg_id: entry.client_msg_id });
            }
            (Op::Send, _, _) => self.shared.emit_queued(id).await,
            (op, Some(message_id), _) => {
                let _ = crate::apply::announce_message(&self.shared, &me, message_id, op != Op::React).await;
            }
            (_, None, Some(target)) => self.shared.emit_queued(target).await,
            (_, None, None) => {}
        }
    }

    /// Everything cached in the conversation is read; the hub is told when connected.
    pub async fn mark_read(&self, conversation_id: &str) -> Result<(), EngineError> {
        let me = self.shared.me_id()?;
        let moved = self.shared.cache.mark_read_local(conversation_id, &me).await?;
        // After the read, so that a message held in between is forgotten too.
        self.shared.quiet.lock().forget_conversation(conversation_id, moved);
        if moved.is_some() {
            self.shared.emit_unread().await;
            self.shared.emit_conversation(conversation_id).await;
            self.shared.kick_receipts.notify_one();
        }
        Ok(())
    }

    /// The user is typing here: at most one `typing` op per 2.5 s per conversation goes out.
    pub async fn typing(&self, conversation_id: &str) {
        if !self.shared.typing_out.lock().allow(conversation_id, tokio::time::Instant::now()) {
            return;
        }
        if let Some(live) = self.shared.live_sender() {
            let _ = live.try_send(LiveCommand::Typing(conversation_id.to_owned()));
        }
    }

    /// Sets the user's own status. Kept in the profile (so the next connection identifies with
    /// it) and announced as [`EngineEvent::ChosenPresence`] — whoever chose it (the window, the
    /// tray, the CLI), every view follows; when connected, returns after the hub acknowledged it.
    pub async fn set_presence(&self, status: ChosenStatus) -> Result<(), EngineError> {
        let wire = serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        self.shared.cache.set_kv(keys::CHOSEN_STATUS, &wire).await?;
        let changed = std::mem::replace(&mut *self.shared.chosen.lock(), status) != status;
        self.shared.auto_away.lock().reset();
        self.shared.quiet.lock().user_chose_status();
        if changed {
            self.shared.emit(EngineEvent::ChosenPresence(status));
        }
        let Some(live) = self.shared.live_sender() else { return Ok(()) };
        let (tx, rx) = oneshot::channel();
        if live.send(LiveCommand::Presence(status, Some(tx))).await.is_err() {
            return Ok(());
        }
        match tokio::time::timeout(Duration::from_secs(10), rx).await {
            Ok(Ok(result)) => result,
            // The connection dropped meanwhile: the next identify carries the status.
            Ok(Err(_)) => Ok(()),
            Err(_) => Err(EngineError::Timeout("presence not acknowledged".into())),
        }
    }

    /// The status the user chose (auto-away aside).
    pub fn chosen_presence(&self) -> ChosenStatus {
        *self.shared.chosen.lock()
    }

    /// Full-text search over the cache: the newest `limit` messages containing every word, newest
    /// first. Words of 3+ characters also match as prefixes ("sal" finds "salary"); shorter
    /// words match only themselves.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, EngineError> {
        let me = self.shared.me_id()?;
        self.shared.cache.search(query, limit, &me).await
    }

    /// Users whose display name contains `query`, or whose email is exactly `query` (hub).
    pub async fn users(&self, query: &str) -> Result<Vec<User>, EngineError> {
        let q = query.to_owned();
        let list = self.shared.authed(|api, token| {
            let q = q.clone();
            async move { api.users(&token, &q, 50).await }
        }).await?;
        for user in &list.users {
            self.shared.cache.upsert_user(user).await?;
        }
        Ok(list.users)
    }

    async fn create(&self, req: CreateConversation) -> Result<ConversationSummary, EngineError> {
        let me = self.shared.me_id()?;
        let conversation = self.shared.authed(|api, token| {
            let req = req.clone();
            async move { api.create_conversation(&token, &req).await }
        }).await?;
        self.shared.store_conversation(&conversation).await?;
        if conversation.last_seq > self.shared.cache.synced_seq(&conversation.id).await? {
            self.shared.kick_catch_up.notify_one();
        }
        self.shared.cache.summary(&conversation.id, &me).await?.ok_or_else(|| EngineError::NotFound("conversation".into()))
    }

    /// Starts (or gets) the direct conversation with a user.
    pub async fn start_direct(&self, user_id: &str) -> Result<ConversationSummary, EngineError> {
        self.create(CreateConversation::Direct { user_id: user_id.to_owned() }).await
    }

    /// Starts a group with these other members.
    pub async fn start_group(&self, title: &str, member_ids: &[String]) -> Result<ConversationSummary, EngineError> {
        self.create(CreateConversation::Group { title: title.to_owned(), member_ids: member_ids.to_vec() }).await
    }

    /// (1.1, §3) Queues a card (job, or application status) with an optional body: a send like
    /// any other, durable in the outbox. Only recruiters send cards.
    pub async fn send_card(&self, conversation_id: &str, body: &str, card: Card) -> Result<LocalMessage, EngineError> {
        let draft = Draft { body: body.to_owned(), card: Some(card), ..Draft::default() };
        self.send_draft(conversation_id, &draft).await
    }

    /// (1.1, §3) The user's saved replies, by name (hub).
    pub async fn templates(&self) -> Result<Vec<Template>, EngineError> {
        crate::templates::list(&self.shared).await
    }

    /// (1.1, §3) Saves a template (hub); only the known `{{variables}}` are accepted.
    pub async fn add_template(&self, name: &str, body: &str) -> Result<Template, EngineError> {
        crate::templates::add(&self.shared, name, body).await
    }

    /// (1.1, §3) Replaces a template's name and body.
    pub async fn update_template(&self, id: &str, name: &str, body: &str) -> Result<Template, EngineError> {
        crate::templates::update(&self.shared, id, name, body).await
    }

    /// (1.1, §3) Removes a template.
    pub async fn remove_template(&self, id: &str) -> Result<(), EngineError> {
        crate::templates::remove(&self.shared, id).await
    }

    /// (1.1, §3) A template body with its variables filled for this conversation; an unknown
    /// variable, or one the conversation has no value for, is `invalid` with a message naming it.
    pub async fn fill_template(&self, conversation_id: &str, body: &str) -> Result<String, EngineError> {
        crate::templates::fill(&self.shared, conversation_id, body).await
    }

    /// (1.1, §3) Has the hub send `draft` (text and an optional card) at `send_at` (RFC 3339,
    /// 1 minute to 90 days ahead). Needs the hub: `offline` when it cannot be reached.
    pub async fn schedule(&self, conversation_id: &str, draft: &Draft, send_at: &str) -> Result<ScheduledMessage, EngineError> {
        crate::scheduled::schedule(&self.shared, conversation_id, draft, send_at).await
    }

    /// (1.1, §3) The user's scheduled messages not sent yet, soonest first (hub).
    pub async fn scheduled(&self) -> Result<Vec<ScheduledMessage>, EngineError> {
        crate::scheduled::list(&self.shared).await
    }

    /// (1.1, §3) Cancels a scheduled message before it is sent.
    pub async fn cancel_scheduled(&self, id: &str) -> Result<(), EngineError> {
        crate::scheduled::cancel(&self.shared, id).await
    }

    /// Notifications, newest first: refreshed from the hub when reachable, else from the cache.
    pub async fn notifications(&self) -> Result<Vec<Notification>, EngineError> {
        match self.shared.authed(|api, token| async move { api.notifications(&token).await }).await {
            Ok(list) => {
                for n in &list.notifications {
                    self.shared.cache.upsert_notification(n).await?;
                }
            }
            Err(EngineError::Offline(_)) => {}
            Err(other) => return Err(other),
        }
        self.shared.cache.notifications().await
    }

    /// Marks a notification read, locally and at the hub.
    pub async fn mark_notification_read(&self, id: &str) -> Result<(), EngineError> {
        self.shared.cache.notification_read(id).await?;
        let id = id.to_owned();
        self.shared.authed(|api, token| {
            let id = id.clone();
            async move { api.notification_read(&token, &id).await }
        }).await
    }

    /// What the user is looking at: notifications for that conversation are suppressed while
    /// the window is focused.
    pub fn set_focus(&self, conversation_id: Option<&str>, window_focused: bool) {
        let mut policy = self.shared.policy.lock();
        policy.focused_conversation = conversation_id.map(str::to_owned);
        policy.window_focused = window_focused;
    }

    /// Mutes or unmutes a conversation (kept on this device).
    pub async fn set_muted(&self, conversation_id: &str, muted: bool) -> Result<(), EngineError> {
        if !self.shared.cache.set_muted(conversation_id, muted).await? {
            return Err(EngineError::NotFound("conversation".into()));
        }
        self.shared.emit_conversation(conversation_id).await;
        Ok(())
    }

    /// Do-not-disturb: no desktop notifications at all while on.
    pub fn set_do_not_disturb(&self, on: bool) {
        self.shared.policy.lock().do_not_disturb = on;
    }

    /// How long auto-away waits (default five minutes).
    pub fn set_away_after(&self, idle: Duration) {
        self.shared.auto_away.lock().threshold = idle;
    }

    /// The app reports how long the user has been idle; crossing the threshold sets `away`
    /// once, and activity restores the chosen status once.
    /// While busy-while-quiet shows the user busy, auto-away changes nothing others see.
    pub fn report_idle(&self, idle_for: Duration) {
        let chosen = *self.shared.chosen.lock();
        let before = self.shared.effective_status();
        if self.shared.auto_away.lock().on_idle(idle_for, chosen).is_none() {
            return;
        }
        let after = self.shared.effective_status();
        if after != before {
            self.shared.send_presence(after);
        }
    }

    /// Sets the weekly quiet hours (checked first: an unknown time zone, a time that is not
    /// `HH:MM` or a span without days is `invalid`, and the old schedule stays). A quiet period
    /// that this ends gets its digest now.
    pub fn set_quiet_hours(&self, hours: QuietHours) -> Result<QuietStatus, EngineError> {
        self.shared.quiet.lock().set_hours(hours)?;
        self.shared.quiet_changed.notify_one();
        Ok(self.quiet_status())
    }

    /// The quiet hours in force.
    pub fn quiet_hours(&self) -> QuietHours {
        self.shared.quiet.lock().hours()
    }

    /// Pauses notifications (kept in the profile, so a restart keeps the pause): messages still
    /// arrive and count as unread, and one digest follows when the pause (and any quiet hours
    /// it runs into) ends.
    pub async fn pause_notifications(&self, pause: Pause) -> Result<QuietStatus, EngineError> {
        let until = self.shared.quiet.lock().pause(pause, self.shared.clock.now())?;
        self.shared.cache.set_kv(keys::PAUSED_UNTIL, &until.to_string()).await?;
        self.shared.quiet_changed.notify_one();
        Ok(self.quiet_status())
    }

    /// Ends a pause now (the digest follows unless quiet hours go on).
    pub async fn resume_notifications(&self) -> Result<QuietStatus, EngineError> {
        self.shared.quiet.lock().resume();
        self.shared.cache.delete_kv(keys::PAUSED_UNTIL).await?;
        self.shared.quiet_changed.notify_one();
        Ok(self.quiet_status())
    }

    /// Whether notifications are quiet now, why, and until when (also announced as
    /// [`EngineEvent::Quiet`] on every change).
    pub fn quiet_status(&self) -> QuietStatus {
        self.shared.quiet.lock().status_at(self.shared.clock.now())
    }

    /// The last known presence of a user.
    pub fn presence_of(&self, user_id: &str) -> Option<Presence> {
        self.shared.presence.lock().get(user_id)
    }

    /// Messages still queued (pending or failed), in send order.
    pub async fn outbox(&self) -> Result<Vec<LocalMessage>, EngineError> {
        let me = self.shared.me_id()?;
        self.shared.cache.outbox_all(&me).await
    }
}

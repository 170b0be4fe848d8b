//! The Rapport client engine: everything a Rapport client does except drawing pixels.
//!
//! The desktop app (through Tauri), `rapport-cli` and the tests all drive the same [`Engine`];
//! nothing here knows about a GUI or a transport to a UI.
//!
//! Layout (one concept per file):
//! - `engine`: the public [`Engine`] handle, its commands and its event stream — nothing else.
//! - `shared`: the state the handle, the supervisor, the session and their tasks share, and the
//!   small types between them; `login`: the tokens in memory and their serialised refresh;
//!   `wait`: waiting for work within a deadline (`offline` or `timeout` when it passes).
//! - `supervisor`: the connection state machine — connect, identify or resume, heartbeats and
//!   zombie detection, backoff with full jitter ([`backoff`]), token refresh, signed-out stop.
//! - `session`: one live gateway connection: frames in, ops out, acks correlated by `ref` —
//!   over the WebSocket or, when that does not get through, HTTP long polling (`poll_link`
//!   carries the frames, `inbound` reads either; `fallback` decides when to switch each way).
//! - `catch_up`: after `ready`/`resumed`, pages every conversation up to the hub's `last_seq`
//!   (new messages) and `last_rev` (edits, deletions, reactions).
//! - `cache`: the local SQLite database (WAL, migrations, FTS5) — the single source of truth
//!   for the UI. `cache::outbox` is the durable outbox of sends and changes.
//! - `compose`: what the user writes or changes (drafts with replies and files, edits,
//!   deletions, reactions), checked and queued; `outgoing`: which queued ops go out and what the
//!   hub's answers do; `uploads`: the files of queued sends, uploaded before they go;
//!   `downloads`: attachments fetched into the profile, verified and kept under a size cap;
//!   `files`: the profile's file layout, safe names, hashing.
//! - `templates`: saved replies (hub) and the filling of their variables from the cache;
//!   `scheduled`: messages the hub sends later (1.1, §3).
//! - `api`: the hub's REST routes; `tokens`: where the login is kept (OS keyring or a 0600 file).
//! - `presence`, `typing`, `notify_policy`: presence map and auto-away, typing throttle and expiry,
//!   the notification policy with burst coalescing.
//! - `quiet_hours`, `quiet`, `clock`: the weekly quiet-hours schedule in the user's time zone,
//!   quiet periods (schedule or pause) that hold notifications back for one digest, and the wall
//!   clock they are read on (tokio's clock in tests).
//! - `error`: [`EngineError`] and [`Code`], every error code a client meets.
//!
//! Modules use each other one way (`engine` → `supervisor` → `session` → `outgoing`/`uploads`/
//! `catch_up` → `apply` → `downloads`/`directory` → `shared` → the rest; `engine` → `compose` →
//! `shared`); `scripts/module-graph` fails on a cycle.
//!
//! Invariants the tests hold the engine to:
//! - A message is in the outbox (on disk) before any network I/O is attempted for it, and it is
//!   resent with the same `client_msg_id` until the hub acknowledges it or rejects it for good.
//! - For every conversation, `synced_seq` is the length of the gap-free prefix `1..=synced_seq`
//!   of cached messages; catch-up pages from there, so the cache equals the hub's history with
//!   no gap and no duplicate (`(conversation_id, seq)` is unique).
//! - For every conversation, every message whose rev at the hub is at most `synced_rev` is
//!   cached as the hub has it; an older copy of a message never replaces a newer one.
//! - A file is attached only once the hub holds all of it (checked by SHA-256), and a file under
//!   its name in the profile is always whole and verified.
//! - A refresh token is only ever presented once (refreshes are serialised and re-read the
//!   store first), because presenting a rotated one revokes the whole login.
#![deny(missing_docs)]

mod api;
mod apply;
pub mod backoff;
mod budget;
mod cache;
mod catch_up;
mod clock;
mod compose;
mod config;
mod directory;
mod downloads;
mod engine;
mod error;
mod event;
mod fallback;
mod files;
mod inbound;
mod login;
mod notify_policy;
mod outgoing;
mod poll_link;
mod presence;
mod quiet;
mod quiet_hours;
mod scheduled;
mod session;
mod shared;
mod supervisor;
mod templates;
mod tokens;
mod typing;
mod uploads;
mod wait;

pub use clock::Clock;
pub use compose::Draft;
pub use config::{EngineConfig, TokenStoreKind};
pub use engine::Engine;
pub use error::{Code, EngineError};
pub use event::{
    ChangeKind, ConnectionState, ConversationSummary, DownloadVariant, EngineEvent, HistoryPage, LocalAttachment,
    LocalMessage, LocalReaction, MessageState, NotificationToShow, PendingChange, QuietReason, QuietStatus, ReplyPreview,
    SearchHit, SnippetPart, TransferProgress, Transport, WireEvent,
};
pub use notify_policy::Coalescer;
pub use quiet::{Pause, MAX_PAUSE};
pub use quiet_hours::{system_time_zone, QuietHours, QuietSpan, Weekday, MAX_SPANS};
pub use shared::Diagnostics;
pub use rapport_protocol::gateway::ReceiptKind;
pub use rapport_protocol::{
    rest::ChosenStatus, Application, ApplicationStatus, ApplicationStatusCard, Card, ConversationKind, JobCard, Member,
    MessageKind, Notification, NotificationKind, Presence, PresenceStatus, Role, ScheduledMessage, Template, User,
};
pub use tokens::{FileTokenStore, StoredLogin, TokenStore};

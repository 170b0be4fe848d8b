//! The Rapport hub: accounts, conversations, messages, presence, typing, receipts and
//! notifications over REST plus one WebSocket gateway (protocol v1), with the message lifecycle
//! of 1.1: edits, tombstones, reactions, replies, attachments and the change counter `rev`.
//!
//! Layout:
//! - [`config`]: the command line and the [`Config`] the hub runs with.
//! - `store`: the database behind a [`store::Store`] trait: SQLite embedded, or PostgreSQL shared
//!   by several hubs. Every invariant that must survive concurrency — gap-free `seq` and `rev`,
//!   `(sender, conversation, client_msg_id)` idempotency, one direct conversation per pair, an
//!   upload carried once — is enforced by the database inside one transaction, never by one
//!   hub's memory.
//! - `blobs`: the directory of uploaded files (streamed in, renamed into place when complete);
//!   `housekeeping`: the periodic removal of unsent uploads, stray files and deleted pages.
//! - `auth`: access tokens (JWT, HS256 pinned) and rotating refresh tokens with reuse
//!   detection; `passwords`: argon2id on a bounded pool of threads that reuse their memory;
//!   `login_throttle`: failed logins back off per account and per client address.
//! - `http`: the REST routes, their errors and the generated OpenAPI document.
//! - `gateway`: the WebSocket sessions, and the one committer task that stores messages and
//!   changes and dispatches their events in order. Each session owns a bounded ring of serialised events that
//!   is at once its outgoing queue and its resume buffer; fan-out serialises an event once and
//!   shares the bytes with every recipient.
//! - `scheduler`: sends scheduled messages at their time, exactly once across restarts and
//!   hubs (1.1, §3).
//! - `twilio`: the WhatsApp / SMS bridge (1.1, §5): the webhook signature check, the durable
//!   outbox that sends recruiters' replies through Twilio exactly once across restarts and hubs,
//!   and WhatsApp's 24-hour window (its routes are in `http`).
//! - `presence`: who is shown online, with the reconnect grace period.
//! - `cluster` (`--redis`): several hubs on one PostgreSQL and one Redis acting as one: each
//!   event reaches the sessions on every hub, presence counts every hub's connections, a
//!   revocation applies everywhere at once; Redis only wakes hubs up, what a hub may have
//!   missed it reads from the database.
//! - `server`: the accept loop over hyper: header, idle and request timeouts, and a cap on
//!   HTTP connections that evicts idle ones rather than locking anyone out.
//!
//! Entry point: [`run`] serves on a bound listener until the shutdown future completes, then
//! closes every gateway session with 1001 and returns.
#![deny(missing_docs)]

mod auth;
mod blobs;
mod clock;
mod cluster;
pub mod config;
mod error;
mod gateway;
mod housekeeping;
mod http;
mod login_throttle;
mod logins;
mod metrics;
mod passwords;
mod presence;
mod scheduler;
mod server;
pub mod store;
mod twilio;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;

/// Everything a request handler or a gateway session needs, shared behind one `Arc`.
pub(crate) struct Hub {
    pub config: Config,
    pub store: Arc<dyn store::Store>,
    pub auth: auth::Auth,
    /// Logins recently confirmed active.
    pub logins: logins::ActiveLogins,
    /// Failed logins by account and by client address.
    pub login_throttle: login_throttle::LoginThrottle,
    pub gateway: gateway::Gateway,
    /// The other hubs, with `--redis`.
    pub cluster: Option<Arc<cluster::Cluster>>,
    /// Uploaded files.
    pub blobs: Arc<blobs::Blobs>,
    /// Thumbnails being made at once at most (decoding an image takes a core).
    pub thumbnails: tokio::sync::Semaphore,
    /// Wakes the scheduler: a message was scheduled, maybe sooner than its next wake-up.
    pub scheduled_due: tokio::sync::Notify,
    /// Wakes the bridge's outbox: messages were stored, maybe some to send through Twilio.
    pub outbound_due: tokio::sync::Notify,
    /// A deletion committed since the database's files were last purged of removed data.
    pub purge_due: std::sync::atomic::AtomicBool,
    pub presence: presence::PresenceBoard,
    pub metrics: metrics::Metrics,
    /// Cancelled when the hub starts shutting down.
    pub shutdown: CancellationToken,
    /// Every gateway connection task, so shutdown can wait for their 1001.
    pub connections: TaskTracker,
}

/// How long shutdown waits for gateway sessions to say goodbye before giving up on them.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// Serves the hub on `listener` until `shutdown` completes.
///
/// Opens (and migrates) the database first, so a bad `--database` fails here, before anything
/// is served. On shutdown every gateway session receives close code 1001.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = metrics::Metrics::new();
    let store::backend::Opened { store, shared } = store::backend::open(&config, metrics.db_pool_wait.clone()).await.context("opening the database")?;
    let cluster = match (&config.redis_url, shared) {
        (Some(url), Some(shared)) => {
            Some(Arc::new(cluster::Cluster::open(url, &config.redis_prefix, shared, &metrics).await.context("opening Redis")?))
        }
        (Some(_), None) => anyhow::bail!("--redis needs a PostgreSQL database"),
        (None, _) => None,
    };
    let auth = auth::Auth::new(&config).context("loading the token secret")?;
    let blobs = blobs::Blobs::open(&config.blobs_dir)
        .with_context(|| format!("opening the blob directory {}", config.blobs_dir.display()))?;
    let (gateway, send_queue) = gateway::Gateway::new(metrics.events_dispatched.clone(), cluster.clone());
    let hub = Arc::new(Hub {
        gateway,
        cluster,
        blobs: Arc::new(blobs),
        thumbnails: tokio::sync::Semaphore::new(1),
        purge_due: std::sync::atomic::AtomicBool::new(false),
        scheduled_due: tokio::sync::Notify::new(),
        outbound_due: tokio::sync::Notify::new(),
        presence: presence::PresenceBoard::default(),
        metrics,
        shutdown: CancellationToken::new(),
        connections: TaskTracker::new(),
        config,
        store,
        auth,
        logins: logins::ActiveLogins::default(),
        login_throttle: login_throttle::LoginThrottle::default(),
    });
    let janitor = tokio::spawn(gateway::janitor(hub.clone()));
    let housekeeping = tokio::spawn(housekeeping::run(hub.clone()));
    let scheduler = tokio::spawn(scheduler::run(hub.clone()));
    let outbox = tokio::spawn(twilio::outbox::run(hub.clone()));
    let stop_committing = CancellationToken::new();
    let committer = tokio::spawn(gateway::commit_sends(hub.clone(), send_queue, stop_committing.clone()));

    let stop_cluster = CancellationToken::new();
    let cluster_tasks = match &hub.cluster {
        Some(cluster) => cluster.start(&hub, stop_cluster.clone()),
        None => Vec::new(),
    };

    let app = http::router(hub.clone());
    let token = hub.shutdown.clone();
    tokio::spawn(async move {
        shutdown.await;
        token.cancel();
    });
    tracing::info!(addr = %listener.local_addr()?, "hub listening");
    server::serve(listener, app, &hub.config, hub.shutdown.clone()).await;

    // The HTTP side has stopped; the gateway connections were told by the same token.
    hub.connections.close();
    if tokio::time::timeout(SHUTDOWN_DRAIN, hub.connections.wait()).await.is_err() {
        tracing::warn!("some gateway sessions did not close in time");
    }
    janitor.abort();
    housekeeping.abort();
    // A send it started is in the committer's queue and finishes below; an unfinished claim
    // runs out and another hub (or the next start) sends it, stored once.
    scheduler.abort();
    // A call to Twilio it was making is cut; its claim runs out and the next start sends it.
    outbox.abort();
    // Only now, with every session gone, may the committer stop; it finishes a batch it started.
    stop_committing.cancel();
    if tokio::time::timeout(SHUTDOWN_DRAIN, committer).await.is_err() {
        tracing::warn!("the last group commit did not finish in time");
    }
    // Last, so that what the last sessions and commits caused still reaches the other hubs.
    stop_cluster.cancel();
    for task in cluster_tasks {
        if tokio::time::timeout(SHUTDOWN_DRAIN, task).await.is_err() {
            tracing::warn!("the link to the other hubs did not stop in time");
        }
    }
    hub.store.close().await;
    tracing::info!("hub stopped");
    Ok(())
}

//! The HTTP server: hyper over our own accept loop, because `axum::serve` has no timeouts and
//! no cap on connections, so stalled sockets stayed open for ever.
//!
//! Until it becomes a WebSocket, every connection has a watchdog ([`watch`]):
//! - a request head must be complete within `http_header_timeout` of its first byte (for the
//!   first request: of the accept, so a silent TCP connection is closed too);
//! - between requests a keep-alive connection may stay silent for `http_idle_timeout`;
//! - a request not answered within `http_request_timeout` (a body that never arrives, a handler
//!   stuck on the database) is answered 503 `unavailable`, and the connection closes. A body
//!   buys its request more time as it arrives (1 s per [`watch::MIN_BODY_RATE`] bytes), so an
//!   upload of 25 MiB over a slow link is served, while silence of `http_request_timeout` in a
//!   body, or a body that drips in slower than that rate, still ends it.
//!
//! At most `max_http_connections` such connections are open, and never more sockets (WebSockets
//! included) than the open-file limit leaves room for. At the cap a new connection evicts the
//! one idle the longest — so idle sockets cannot lock clients, or `/healthz`, out — and when
//! none is idle it is answered 503 at once. Accepting never stops, not even with the file
//! table full. A WebSocket leaves this accounting once upgraded: the gateway has its own cap
//! (`--max-connections`) and heartbeat.

mod watch;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse as _, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use rapport_protocol::{ErrorBody, ErrorCode};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

use crate::config::Config;
use crate::error::ApiError;
use watch::{Activity, Limits, SocketSlot, WatchedIo};

/// The peer address of the connection a request came on (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// File descriptors kept for everything but sockets: the database and its WAL files, the
/// token secret, update files, the runtime's own.
const RESERVED_FDS: u64 = 64;
/// How long shutdown waits for HTTP requests in progress.
const DRAIN: Duration = Duration::from_secs(5);

/// What accepting answers when every connection is busy: written straight to the socket,
/// since there is no room to serve it.
static FULL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let body = serde_json::to_string(&ErrorBody { error: ApiError::new(ErrorCode::Unavailable, "too many connections").info() })
        .expect("an error body serialises");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// The connections still in their HTTP phase, for the cap and for eviction.
struct Connections {
    watched: Mutex<HashMap<u64, Watched>>,
    next_id: AtomicU64,
    /// Every open socket, WebSockets included.
    sockets: Arc<AtomicUsize>,
    max_http: usize,
    max_sockets: usize,
}

struct Watched {
    activity: Arc<Activity>,
    evict: CancellationToken,
}

impl Connections {
    /// Makes room for one more connection: `Some(id, its eviction token)`, or `None` when
    /// every connection is serving a request.
    fn admit(&self, activity: &Arc<Activity>) -> Option<(u64, CancellationToken)> {
        let mut watched = self.watched.lock();
        if watched.len() >= self.max_http || self.sockets.load(Ordering::Relaxed) >= self.max_sockets {
            Connections::evict_idlest(&mut watched)?;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evict = CancellationToken::new();
        watched.insert(id, Watched { activity: activity.clone(), evict: evict.clone() });
        Some((id, evict))
    }

    /// Closes the connection idle the longest; `None` when none is idle.
    fn evict_idlest(watched: &mut HashMap<u64, Watched>) -> Option<()> {
        let (&id, _) = watched
            .iter()
            .filter_map(|(id, w)| Some((id, w.activity.idle_for()?)))
            .max_by_key(|(_, idle)| *idle)?;
        let evicted = watched.remove(&id)?;
        evicted.evict.cancel();
        tracing::debug!(idle_ms = evicted.activity.idle_for().unwrap_or_default().as_millis() as u64, "connection cap reached: closed the idlest connection");
        Some(())
    }

    fn forget(&self, id: u64) {
        self.watched.lock().remove(&id);
    }
}

/// How many sockets the open-file limit leaves room for.
fn socket_budget() -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        return usize::try_from(soft.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX);
    }
    usize::MAX
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets requests in progress
/// finish (at most [`DRAIN`]) and returns.
pub async fn serve(listener: TcpListener, app: Router, config: &Config, shutdown: CancellationToken) {
    let limits = Limits { header: config.http_header_timeout, idle: config.http_idle_timeout, request: config.http_request_timeout };
    let max_sockets = socket_budget();
    if config.max_connections.saturating_add(config.max_http_connections) > max_sockets {
        tracing::warn!(
            sockets = max_sockets,
            max_connections = config.max_connections,
            max_http_connections = config.max_http_connections,
            "the open-file limit leaves room for fewer sockets than the connection caps allow; beyond it idle connections are closed or new ones refused with 503"
        );
    }
    let connections = Arc::new(Connections {
        watched: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
        sockets: Arc::new(AtomicUsize::new(0)),
        max_http: config.max_http_connections,
        max_sockets,
    });
    let tasks = TaskTracker::new();
    let mut last_accept_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) if is_per_connection(&err) => continue,
            Err(err) => {
                // Out of file descriptors, most likely: free one by closing the idlest
                // connection, and try again shortly rather than spinning.
                if last_accept_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(error = %err, "accepting a connection failed; closing the idlest one");
                    last_accept_warning = Some(Instant::now());
                }
                Connections::evict_idlest(&mut connections.watched.lock());
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Small frames must leave at once: with Nagle's algorithm on, an event can wait ~40 ms
        // for the peer's delayed ACK.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let slot = SocketSlot::take(&connections.sockets);
        let activity = Activity::new();
        let Some((id, evict)) = connections.admit(&activity) else {
            // Every connection is in a request: say so instead of leaving it unanswered. The
            // socket is fresh, so its send buffer takes these few bytes at once.
            let _ = tcp.try_write(&FULL);
            continue;
        };
        let io = WatchedIo::new(tcp, activity.clone(), slot);
        let (app, connections, shutdown) = (app.clone(), connections.clone(), shutdown.clone());
        tasks.spawn(async move {
            connection(io, peer, app, activity, limits, evict, shutdown).await;
            connections.forget(id);
        });
    }
    drop(listener);
    tasks.close();
    if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
        tracing::warn!("some HTTP requests did not finish in time");
    }
}

/// Errors that concern only the connection being accepted.
fn is_per_connection(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(err.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// Serves one connection until it closes, stalls, is evicted, or shutdown ends it.
async fn connection(
    io: WatchedIo<TcpStream>,
    peer: SocketAddr,
    app: Router,
    activity: Arc<Activity>,
    limits: Limits,
    evict: CancellationToken,
    shutdown: CancellationToken,
) {
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request| handle(request, app.clone(), peer, activity.clone(), limits))
    };
    let mut conn = pin!(hyper::server::conn::http1::Builder::new()
        // Our watchdog times heads, not hyper's (which would also need a timer).
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(io), service).with_upgrades());
    let mut closing = false;
    loop {
        // While a request is served the watchdog only looks again later: the request
        // timeout bounds it.
        let (wait, watching) = match activity.time_left(&limits) {
            Some(left) => (left, true),
            None => (limits.request, false),
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "HTTP connection ended with an error");
                }
                break;
            }
            () = tokio::time::sleep(wait) => {
                if watching && activity.time_left(&limits) == Some(Duration::ZERO) {
                    tracing::debug!(%peer, "HTTP connection stalled; closing it");
                    break;
                }
            }
            () = activity.request_ended(), if !watching => {}
            () = evict.cancelled() => break,
            () = shutdown.cancelled(), if !closing => {
                // Idle connections close now, one in a request after its response.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
    // Upgraded or closed: reads and writes of a WebSocket are not this watchdog's business.
    activity.end_http();
}

/// Serves one request within the request timeout, and what its body bought
/// ([`Activity::request_time_left`]).
async fn handle(mut request: Request<Incoming>, app: Router, peer: SocketAddr, activity: Arc<Activity>, limits: Limits) -> Result<Response, Infallible> {
    let _in_request = activity.request();
    request.extensions_mut().insert(PeerAddr(peer));
    let request = request.map(axum::body::Body::new);
    let mut response = pin!(app.oneshot(request));
    loop {
        let left = activity.request_time_left(&limits);
        if left.is_zero() {
            break;
        }
        tokio::select! {
            response = response.as_mut() => return response,
            () = tokio::time::sleep(left) => {}
        }
    }
    let message = format!(
        "the request was not complete in time ({} s, and more while its body arrives at {} KiB/s or faster)",
        limits.request.as_secs_f64(),
        watch::MIN_BODY_RATE / 1024
    );
    let mut response = ApiError { retry_after_ms: Some(1000), ..ApiError::new(ErrorCode::Unavailable, message) }.into_response();
    // Its body may be half read: this connection cannot carry another request.
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}

//! What a connection did last, for its watchdog: the socket wrapper notes reads and writes,
//! the request handler notes where a request begins and ends, and [`Activity::time_left`]
//! says how long the connection may still stay as it is.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The slowest a request body may arrive on average: each byte received buys this much more
/// time for the request, so that a large upload over a slow link (25 MiB at 1 Mbit/s takes
/// three and a half minutes) is served while a body that drips in — a few bytes now and then,
/// to hold the connection — is still cut off after about the request timeout. 8 KiB/s is a
/// 64 kbit/s link: a 25 MiB file may take up to 53 minutes.
pub const MIN_BODY_RATE: u64 = 8 * 1024;

/// The three stall limits of an HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From the first byte of a request head (or from the accept, for the first one) to its end.
    pub header: Duration,
    /// Silence between requests.
    pub idle: Duration,
    /// From a complete head to the response, plus what the body's bytes buy
    /// ([`MIN_BODY_RATE`]); and the longest silence while a request is served.
    pub request: Duration,
}

/// One connection's recent activity. Times are milliseconds since it was accepted; relaxed
/// atomics are enough, since a watchdog that reads a value a moment old only acts a moment late.
pub struct Activity {
    accepted: Instant,
    /// Still plain HTTP; once upgraded to a WebSocket nothing is noted any more.
    http: AtomicBool,
    in_request: AtomicBool,
    /// 1 + when the head of the next request began; 0 while none is being received.
    head_since: AtomicU64,
    last_io: AtomicU64,
    /// When the request in service had its head complete.
    request_since: AtomicU64,
    /// Bytes read since then: its body, as far as it has come.
    request_bytes: AtomicU64,
    /// Told when a request ends, so the watchdog starts timing the silence at once.
    request_ended: Notify,
}

impl Activity {
    /// A connection accepted now: its first request head is due within the header timeout.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            accepted: Instant::now(),
            http: AtomicBool::new(true),
            in_request: AtomicBool::new(false),
            head_since: AtomicU64::new(1),
            last_io: AtomicU64::new(0),
            request_since: AtomicU64::new(0),
            request_bytes: AtomicU64::new(0),
            request_ended: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn read(&self, bytes: usize) {
        if !self.http.load(Ordering::Relaxed) {
            return;
        }
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_request.load(Ordering::Relaxed) {
            self.request_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        }
        // Bytes between requests are the start of the next head; its clock starts here.
        if !self.in_request.load(Ordering::Relaxed) && self.head_since.load(Ordering::Relaxed) == 0 {
            self.head_since.store(now + 1, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        if self.http.load(Ordering::Relaxed) {
            self.last_io.store(self.now(), Ordering::Relaxed);
        }
    }

    /// A complete head was read; the request is being served until the guard is dropped.
    pub fn request(self: &Arc<Activity>) -> InRequest {
        let now = self.now();
        self.request_since.store(now, Ordering::Relaxed);
        self.request_bytes.store(0, Ordering::Relaxed);
        // The head's arrival is the request's first sign of life.
        self.last_io.store(now, Ordering::Relaxed);
        self.in_request.store(true, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
        InRequest(self.clone())
    }

    /// How long the request in service may still take: the request timeout from its head,
    /// plus 1 s for every [`MIN_BODY_RATE`] bytes of body received so far — but never more than
    /// the request timeout after the last byte in or out, so that a body that stops half-way
    /// (or a handler that stops answering) is not carried by the time it banked. Zero once
    /// it is over.
    pub fn request_time_left(&self, limits: &Limits) -> Duration {
        let now = Duration::from_millis(self.now());
        let since = Duration::from_millis(self.request_since.load(Ordering::Relaxed));
        let bought = Duration::from_secs_f64(self.request_bytes.load(Ordering::Relaxed) as f64 / MIN_BODY_RATE as f64);
        let last_io = Duration::from_millis(self.last_io.load(Ordering::Relaxed));
        let deadline = (since + limits.request + bought).min(last_io + limits.request);
        deadline.saturating_sub(now)
    }

    /// Completes when a request has ended (at once when one ended since the last call).
    pub async fn request_ended(&self) {
        self.request_ended.notified().await;
    }

    /// The connection is no longer plain HTTP (upgraded, or closed).
    pub fn end_http(&self) {
        self.http.store(false, Ordering::Relaxed);
    }

    /// How long the connection may still stay as it is: `None` while a request is served (the
    /// request timeout bounds that), zero once it has stalled.
    pub fn time_left(&self, limits: &Limits) -> Option<Duration> {
        if self.in_request.load(Ordering::Relaxed) {
            return None;
        }
        let now = Duration::from_millis(self.now());
        let deadline = match self.head_since.load(Ordering::Relaxed) {
            0 => Duration::from_millis(self.last_io.load(Ordering::Relaxed)) + limits.idle,
            since => Duration::from_millis(since - 1) + limits.header,
        };
        Some(deadline.saturating_sub(now))
    }

    /// How long nothing has happened on it; `None` while a request is served.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.in_request.load(Ordering::Relaxed) {
            return None;
        }
        Some(Duration::from_millis(self.now().saturating_sub(self.last_io.load(Ordering::Relaxed))))
    }
}

/// Held while a request is served.
pub struct InRequest(Arc<Activity>);

impl Drop for InRequest {
    fn drop(&mut self) {
        // Writing the rest of the body counts as activity from here on.
        self.0.last_io.store(self.0.now(), Ordering::Relaxed);
        self.0.in_request.store(false, Ordering::Relaxed);
        self.0.request_ended.notify_one();
    }
}

/// One open socket, counted in `open` for as long as it lives (as a WebSocket too).
pub struct SocketSlot(Arc<AtomicUsize>);

impl SocketSlot {
    /// Counts one more open socket.
    pub fn take(open: &Arc<AtomicUsize>) -> SocketSlot {
        open.fetch_add(1, Ordering::Relaxed);
        SocketSlot(open.clone())
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that notes its reads and writes in its connection's [`Activity`].
pub struct WatchedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    _slot: SocketSlot,
}

impl<T> WatchedIo<T> {
    /// Wraps `inner`, which holds `slot` until it is dropped.
    pub fn new(inner: T, activity: Arc<Activity>, slot: SocketSlot) -> WatchedIo<T> {
        WatchedIo { inner, activity, _slot: slot }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if matches!(poll, Poll::Ready(Ok(()))) && read > 0 {
            this.activity.read(read);
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        poll
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { header: Duration::from_secs(10), idle: Duration::from_secs(60), request: Duration::from_secs(30) };

    #[test]
    fn a_new_connection_owes_a_head_then_idles_between_requests() {
        let activity = Activity::new();
        let left = activity.time_left(&LIMITS).unwrap();
        assert!(left <= LIMITS.header && left > LIMITS.header - Duration::from_secs(1), "the first head is due within the header timeout: {left:?}");
        let request = activity.request();
        assert_eq!(activity.time_left(&LIMITS), None, "a request in service is bounded by the request timeout instead");
        assert_eq!(activity.idle_for(), None, "a connection in a request is never evicted");
        drop(request);
        let left = activity.time_left(&LIMITS).unwrap();
        assert!(left > LIMITS.header, "between requests the idle timeout applies: {left:?}");
        activity.read(1);
        assert!(activity.time_left(&LIMITS).unwrap() <= LIMITS.header, "a first byte starts the next head's clock");
    }

    /// An activity whose connection was accepted `secs` ago, its request head complete then.
    fn in_request_since(secs: u64) -> (Arc<Activity>, InRequest) {
        let fresh = Arc::into_inner(Activity::new()).expect("not shared yet");
        let aged = Arc::new(Activity { accepted: Instant::now() - Duration::from_secs(secs), ..fresh });
        let request = aged.request();
        aged.request_since.store(0, Ordering::Relaxed);
        (aged, request)
    }

    #[test]
    fn a_body_buys_time_as_it_arrives_but_never_carries_a_stall() {
        let fresh = Activity::new();
        let _request = fresh.request();
        let left = fresh.request_time_left(&LIMITS);
        assert!(left <= LIMITS.request && left > LIMITS.request - Duration::from_secs(1), "without a body: the request timeout: {left:?}");

        // 100 s into a request, the last byte 1 s ago.
        let body = |bytes: u64, last_io_ms: u64| {
            let (activity, _request) = in_request_since(100);
            activity.request_bytes.store(bytes, Ordering::Relaxed);
            activity.last_io.store(last_io_ms, Ordering::Relaxed);
            activity.request_time_left(&LIMITS).as_secs()
        };
        assert!((28..=29).contains(&body(25 << 20, 99_000)), "a fast 25 MiB body is served on: 30 s after its last byte");
        assert!((28..=29).contains(&body(100 * MIN_BODY_RATE, 99_000)), "exactly the slowest rate for 100 s is still served");
        assert_eq!(body(1000, 99_000), 0, "1000 bytes in 100 s is a drip: they bought 0.12 s, not 70 s");
        assert_eq!(body(25 << 20, 50_000), 0, "silent for 50 s: the time the body banked does not carry a stall");
    }
}

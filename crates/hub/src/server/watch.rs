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

/// The three stall limits of an HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From the first byte of a request head (or from the accept, for the first one) to its end.
    pub header: Duration,
    /// Silence between requests.
    pub idle: Duration,
    /// From a complete head to the response.
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
            request_ended: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn read(&self) {
        if !self.http.load(Ordering::Relaxed) {
            return;
        }
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
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
        self.in_request.store(true, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
        InRequest(self.clone())
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
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
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
        activity.read();
        assert!(activity.time_left(&LIMITS).unwrap() <= LIMITS.header, "a first byte starts the next head's clock");
    }
}

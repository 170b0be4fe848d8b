//! A TCP proxy in front of a hub, to cut one client's network without touching the hub, or to
//! make it slow (so that a test can act in the middle of an upload or a download).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes forwarded per step of a throttled connection.
const STEP: usize = 16 * 1024;

/// Forwards every connection to a target; can drop them all and refuse new ones, and can limit
/// each direction of each connection to a rate.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    blocked: Arc<AtomicBool>,
    /// Bytes per second per direction; 0 is unlimited.
    rate: Arc<AtomicU64>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let blocked = Arc::new(AtomicBool::new(false));
        let rate = Arc::new(AtomicU64::new(0));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (b, c, r) = (blocked.clone(), connections.clone(), rate.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if b.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let rate = r.clone();
                let task = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(target).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let (in_read, in_write) = inbound.into_split();
                        let (out_read, out_write) = outbound.into_split();
                        // Either direction ending ends the connection.
                        tokio::select! {
                            () = forward(in_read, out_write, rate.clone()) => {}
                            () = forward(out_read, in_write, rate) => {}
                        }
                    }
                });
                let mut list = c.lock().expect("proxy lock");
                list.retain(|t| !t.is_finished());
                list.push(task);
            }
        });
        Proxy { addr, blocked, rate, connections, accept }
    }

    /// Limits every connection, open or new, to about `bytes_per_second` in each direction
    /// (0: no limit).
    pub fn throttle(&self, bytes_per_second: u64) {
        self.rate.store(bytes_per_second, Ordering::SeqCst);
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every open connection (like a Wi-Fi drop); new ones are accepted.
    pub fn cut(&self) {
        for task in self.connections.lock().expect("proxy lock").drain(..) {
            task.abort();
        }
    }

    /// Drops every connection and refuses new ones until [`Proxy::unblock`].
    pub fn block(&self) {
        self.blocked.store(true, Ordering::SeqCst);
        self.cut();
    }

    /// Accepts connections again.
    pub fn unblock(&self) {
        self.blocked.store(false, Ordering::SeqCst);
    }
}

/// Copies one direction, at most `rate` bytes per second when it is not 0.
async fn forward(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, rate: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; STEP];
    loop {
        let limit = rate.load(Ordering::SeqCst);
        let want = if limit == 0 { buffer.len() } else { STEP.min(limit as usize).max(1) };
        let n = match from.read(&mut buffer[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
        if limit > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / limit as f64)).await;
        }
    }
    let _ = to.shutdown().await;
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

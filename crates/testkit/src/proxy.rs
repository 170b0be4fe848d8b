//! A TCP proxy in front of a hub, to cut one client's network without touching the hub, or to
//! make it slow (so that a test can act in the middle of an upload or a download), or to play
//! the corporate HTTP proxy that refuses WebSocket upgrades and forwards plain HTTP.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes forwarded per step of a throttled connection.
const STEP: usize = 16 * 1024;
/// Longest request head read when upgrades are refused.
const MAX_HEAD: usize = 16 * 1024;
/// What a refused upgrade is answered with: what such proxies typically say.
const REFUSAL: &[u8] = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 30\r\nConnection: close\r\n\r\nWebSocket upgrades are blocked";

/// Forwards every connection to a target; can drop them all and refuse new ones, and can limit
/// each direction of each connection to a rate.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    blocked: Arc<AtomicBool>,
    refuse_upgrades: Arc<AtomicBool>,
    /// Upgrade requests refused so far.
    refused: Arc<AtomicU64>,
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
        let refuse_upgrades = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let rate = Arc::new(AtomicU64::new(0));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (b, c, r) = (blocked.clone(), connections.clone(), rate.clone());
        let (refusing, refusals) = (refuse_upgrades.clone(), refused.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if b.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let rate = r.clone();
                let refuse = refusing.load(Ordering::SeqCst);
                let refusals = refusals.clone();
                let task = tokio::spawn(async move {
                    let mut inbound = inbound;
                    let mut head = Vec::new();
                    if refuse {
                        // The first request of the connection decides; a WebSocket client
                        // always upgrades on a connection of its own.
                        match read_head(&mut inbound).await {
                            Some(read) if is_upgrade(&read) => {
                                refusals.fetch_add(1, Ordering::SeqCst);
                                let _ = inbound.write_all(REFUSAL).await;
                                let _ = inbound.shutdown().await;
                                return;
                            }
                            Some(read) => head = read,
                            None => return,
                        }
                    }
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        if outbound.write_all(&head).await.is_err() {
                            return;
                        }
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
        Proxy { addr, blocked, refuse_upgrades, refused, rate, connections, accept }
    }

    /// From now on, new connections whose request asks for `Upgrade: websocket` are answered
    /// `403 Forbidden` and closed, while plain HTTP is forwarded (`false`: upgrades pass
    /// again). Open connections are left alone; [`Proxy::cut`] drops them.
    pub fn refuse_upgrades(&self, refuse: bool) {
        self.refuse_upgrades.store(refuse, Ordering::SeqCst);
    }

    /// How many upgrade requests were refused so far.
    pub fn upgrades_refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
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

/// Reads up to the end of the first request head (`\r\n\r\n`), or what came before the
/// client stopped; `None` when it sent nothing or too much.
async fn read_head(inbound: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = inbound.read(&mut buffer).await.ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&buffer[..n]);
        if head.len() > MAX_HEAD {
            return None;
        }
    }
    Some(head)
}

/// Whether a request head asks to upgrade to a WebSocket.
fn is_upgrade(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.strip_prefix("upgrade:").is_some_and(|value| value.contains("websocket"))
    })
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

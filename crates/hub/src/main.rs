//! `rapport-hub`: parses the command line, sets up logging, serves until SIGTERM or Ctrl-C.

use anyhow::Context as _;
use clap::Parser as _;
use rapport_hub::config::{Args, Config, LogFormat};
use tracing_subscriber::filter::{FilterExt as _, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(args.log_format);
    let config = Config::from_args(&args)?;
    raise_open_file_limit();
    let listener = listen(args.listen).with_context(|| format!("binding {}", args.listen))?;
    rapport_hub::run(listener, config, shutdown_signal()).await
}

/// Connections the kernel queues for accepting. After a restart every client reconnects at
/// once; with the backlog of `tokio::net::TcpListener::bind` (128, as std) the rest of the
/// handshakes are dropped and those clients wait for a retransmission (1 s, then 3 s, …). The
/// kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 16 * 1024;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Every socket is a file descriptor, and the soft limit is often a mere 1024: take the hard
/// limit, as far as the system allows. The server sizes its connection budget by what is left.
fn raise_open_file_limit() {
    #[cfg(unix)]
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(err) => tracing::warn!(error = %err, "could not raise the open-file limit"),
    }
}

/// Libraries that log what passes through them at their detailed levels: the WebSocket library
/// prints every frame (identify tokens, message bodies) at trace, in text and in hex, and the
/// HTTP and rejection internals may quote request data. Whatever `RUST_LOG` asks for, these stay
/// at the level given here, so that no level ever prints a secret.
const CAPPED_TARGETS: [(&str, LevelFilter); 6] = [
    ("tungstenite", LevelFilter::DEBUG),
    ("tokio_tungstenite", LevelFilter::DEBUG),
    ("hyper", LevelFilter::INFO),
    ("hyper_util", LevelFilter::INFO),
    ("h2", LevelFilter::INFO),
    ("axum::rejection", LevelFilter::DEBUG),
];

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let cap = Targets::new().with_default(LevelFilter::TRACE).with_targets(CAPPED_TARGETS);
    let filter = filter.and(cap);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // `init` also routes the `log` records of the libraries above through the same filter.
    match format {
        LogFormat::Json => tracing_subscriber::registry().with(layer.json().with_filter(filter)).init(),
        LogFormat::Pretty => tracing_subscriber::registry().with(layer.with_filter(filter)).init(),
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: closing every session with 1001");
}

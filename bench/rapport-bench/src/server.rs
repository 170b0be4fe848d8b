//! The server under test, as a child process in its own temporary data directory: the Rapport
//! hub (release build) or the Socket.IO peer (Node). Both can be SIGKILLed and restarted on the
//! same port and data, for the storm scenario.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::process::{Child, Command};

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `rapport-hub`, SQLite (WAL, synchronous=NORMAL).
    Rapport,
    /// The Socket.IO peer persisting to better-sqlite3 (WAL, synchronous=NORMAL).
    SocketIo,
    /// The Socket.IO peer keeping everything in memory.
    SocketIoMemory,
}

impl Target {
    /// Name used on the command line, in tables and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Target::Rapport => "rapport",
            Target::SocketIo => "socketio",
            Target::SocketIoMemory => "socketio-memory",
        }
    }

    /// Parses [`Target::name`].
    pub fn parse(s: &str) -> Option<Target> {
        [Target::Rapport, Target::SocketIo, Target::SocketIoMemory].into_iter().find(|t| t.name() == s)
    }

    /// Whether it speaks Rapport protocol v1 (else Engine.IO v4 / Socket.IO v5).
    pub fn is_rapport(self) -> bool {
        self == Target::Rapport
    }
}

/// Where the programs under test are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// `target/release/rapport-hub`.
    pub hub: PathBuf,
    /// `bench/peers/socketio` (with `node_modules`).
    pub peer_dir: PathBuf,
}

/// A running server under test.
pub struct Server {
    target: Target,
    programs: Programs,
    dir: tempfile::TempDir,
    /// Where it listens.
    pub addr: SocketAddr,
    secret: String,
    child: Child,
}

impl Server {
    /// Starts the server on a free loopback port in a fresh data directory; returns once it
    /// answers `/healthz`.
    pub async fn start(target: Target, programs: &Programs) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new().prefix("rapport-bench-").tempdir()?;
        // Bind-then-drop: a free port that the restarted server can take again.
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let secret = format!("bench-secret-{}", rand::random::<u64>());
        let child = spawn(target, programs, dir.path(), addr, &secret)?;
        let mut server = Server { target, programs: programs.clone(), dir, addr, secret, child };
        server.wait_ready(Duration::from_secs(30)).await?;
        Ok(server)
    }

    /// Process id (for `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's data directory (`hub.db` / `peer.db` live there).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// SIGKILLs the process and waits until it is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.start_kill()?; // SIGKILL on Unix
        self.child.wait().await?;
        Ok(())
    }

    /// Starts the process again on the same port and data (after [`Server::kill`]); returns
    /// at once; connections are refused until it is ready.
    pub fn respawn(&mut self) -> anyhow::Result<()> {
        self.child = spawn(self.target, &self.programs, self.dir.path(), self.addr, &self.secret)?;
        Ok(())
    }

    /// Polls `/healthz` until it answers 200.
    pub async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", self.base_url());
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status}; see {}", self.target.name(), self.dir.path().display());
            }
            if matches!(http.get(&url).send().await, Ok(r) if r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} did not become ready within {within:?}", self.target.name());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the process: SIGTERM (so a profiler wrapping it writes its output), SIGKILL after
    /// 30 s.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.is_err() {
            let _ = self.kill().await;
        }
    }
}

fn spawn(target: Target, programs: &Programs, dir: &std::path::Path, addr: SocketAddr, secret: &str) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log"))?;
    let mut command = match target {
        Target::Rapport => {
            // RAPPORT_BENCH_WRAP="valgrind --tool=callgrind ..." runs the hub under a profiler.
            let wrap: Vec<String> = std::env::var("RAPPORT_BENCH_WRAP")
                .map(|w| w.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
            let mut c = match wrap.split_first() {
                Some((program, args)) => {
                    let mut c = Command::new(program);
                    c.args(args).arg(&programs.hub);
                    c
                }
                None => Command::new(&programs.hub),
            };
            c.arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(dir)
                .arg("--database")
                .arg(format!("sqlite://{}", dir.join("hub.db").display()))
                // The hub logs one line per connection at info; the peer logs nothing.
                .env("RUST_LOG", "warn");
            c
        }
        Target::SocketIo | Target::SocketIoMemory => {
            let mut c = Command::new("node");
            // RAPPORT_BENCH_NODE_ARGS="--cpu-prof" profiles the peer.
            let node_args: Vec<String> = std::env::var("RAPPORT_BENCH_NODE_ARGS")
                .map(|w| w.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
            c.current_dir(&programs.peer_dir)
                .args(node_args)
                .arg("server.js")
                .arg("--port")
                .arg(addr.port().to_string())
                .arg("--secret")
                .arg(secret);
            if target == Target::SocketIoMemory {
                c.arg("--memory");
            } else {
                c.arg("--db").arg(dir.join("peer.db"));
            }
            c
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    command.spawn().with_context(|| format!("starting {}", target.name()))
}

/// Runs the shell command in the environment variable `var` (if set) with `{pid}` replaced: lets
/// a profiler be switched on for exactly the measured window
/// (`RAPPORT_BENCH_ON_MEASURE="callgrind_control -i on {pid}"`).
pub fn hook(var: &str, pid: u32) {
    if let Ok(command) = std::env::var(var) {
        let command = command.replace("{pid}", &pid.to_string());
        let _ = std::process::Command::new("sh").arg("-c").arg(command).status();
    }
}

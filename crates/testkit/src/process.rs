//! The real `rapport-hub` binary as a child process, for tests that SIGKILL it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::{free_addr, hub_binary, TestDatabase, API_KEY};

/// How to start a hub process beyond the defaults of [`HubProcess::start`].
#[derive(Default, Clone, Copy)]
pub struct Launch<'a> {
    /// Extra flags.
    pub args: &'a [&'a str],
    /// Extra environment (after the defaults, so `RUST_LOG` here wins).
    pub env: &'a [(&'a str, &'a str)],
    /// The process's open-file limit (soft and hard), set with `prlimit(1)`.
    pub open_files: Option<u64>,
}

/// A hub child process with its data directory.
pub struct HubProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Extra flags it was started with.
    pub args: Vec<String>,
    env: Vec<(String, String)>,
    open_files: Option<u64>,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// Its PostgreSQL database (shared with the hubs started beside it), when the tests run
    /// against PostgreSQL.
    database: Option<Arc<TestDatabase>>,
    /// The token secret of the hub it was started beside, so that each accepts the other's tokens.
    jwt_secret: Option<String>,
    _keep: Option<tempfile::TempDir>,
}

impl HubProcess {
    /// Starts the binary on a free loopback port in a fresh data directory (and, against
    /// PostgreSQL, on a fresh database).
    pub async fn start(args: &[&str]) -> HubProcess {
        HubProcess::launch(Launch { args, ..Launch::default() }).await
    }

    /// Starts the binary as `launch` says, on a free loopback port in a fresh data directory
    /// (and, against PostgreSQL, on a fresh database).
    pub async fn launch(launch: Launch<'_>) -> HubProcess {
        let database = TestDatabase::postgres().await.map(Arc::new);
        HubProcess::start_on(database, None, launch).await
    }

    /// A second hub sharing `other`'s PostgreSQL database and token secret, as hubs behind one
    /// load balancer do. Only on PostgreSQL: SQLite is one hub's own file.
    pub async fn start_beside(other: &HubProcess, args: &[&str]) -> HubProcess {
        let database = other.database.clone().expect("hubs share a database only on PostgreSQL");
        let secret = match &other.jwt_secret {
            Some(secret) => secret.clone(),
            None => std::fs::read_to_string(other.dir.join("jwt-secret")).expect("the first hub's token secret"),
        };
        HubProcess::start_on(Some(database), Some(secret), Launch { args, ..Launch::default() }).await
    }

    async fn start_on(database: Option<Arc<TestDatabase>>, jwt_secret: Option<String>, launch: Launch<'_>) -> HubProcess {
        let keep = tempfile::tempdir().expect("temp dir");
        let dir = keep.path().to_path_buf();
        let addr = free_addr();
        let mut hub = HubProcess {
            addr,
            args: launch.args.iter().map(|s| s.to_string()).collect(),
            env: launch.env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            open_files: launch.open_files,
            log: dir.join("hub.log"),
            dir,
            child: None,
            database,
            jwt_secret,
            _keep: Some(keep),
        };
        hub.spawn().await;
        hub
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let mut command = match self.open_files {
            Some(n) => {
                let mut prlimit = Command::new("prlimit");
                prlimit.arg(format!("--nofile={n}:{n}")).arg("--").arg(hub_binary());
                prlimit
            }
            None => Command::new(hub_binary()),
        };
        if let Some(database) = &self.database {
            command.arg("--database").arg(database.url());
            // The hub suite's run on PostgreSQL + Redis: every group of hubs under its own prefix.
            if let Some(url) = crate::shared_redis().filter(|_| !self.args.iter().any(|a| a == "--redis")) {
                command.arg("--redis").arg(url).arg("--redis-prefix").arg(database.name());
            }
        }
        if let Some(secret) = &self.jwt_secret {
            command.env("RAPPORT_JWT_SECRET", secret);
        }
        let child = command
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--api-key")
            .arg(API_KEY)
            .args(&self.args)
            .env("RUST_LOG", std::env::var("RAPPORT_TEST_HUB_LOG").unwrap_or_else(|_| "debug".into()))
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e} (build it with cargo build -p rapport-hub)", hub_binary().display()));
        self.child = Some(child);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        assert!(crate::ready_within(&self.url(), crate::READY_WAIT).await, "hub did not become ready; log:\n{}", self.log_text());
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR/v1/gateway`.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/v1/gateway", self.addr)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its PostgreSQL database, when the tests run against PostgreSQL.
    pub fn database(&self) -> Option<&TestDatabase> {
        self.database.as_deref()
    }

    /// Whether the process is still running (it was not killed, and did not exit by itself).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Everything the hub logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no goodbye, no flush.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM and wait for the exit status (at most 15 s).
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("pid") as i32;
        // kill(1) sends SIGTERM without pulling in libc.
        let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .expect("hub exits within 15 s of SIGTERM")
            .expect("wait")
    }

    /// Starts the binary again on the same address and data directory.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "kill or terminate first");
        self.spawn().await;
    }
}

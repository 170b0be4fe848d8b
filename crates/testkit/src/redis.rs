//! Redis for tests of several hubs: the server that `RAPPORT_TEST_REDIS` names (the hub suite's
//! run against PostgreSQL + Redis), or a `redis-server` process of one test's own, which that
//! test may kill and start again without disturbing any other.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::free_addr;

/// Names the Redis server that every test hub then uses (each group of hubs under a key prefix
/// of its own).
pub const REDIS_ENV: &str = "RAPPORT_TEST_REDIS";

/// The Redis of [`REDIS_ENV`], when set.
pub fn shared_redis() -> Option<String> {
    std::env::var(REDIS_ENV).ok().filter(|url| !url.is_empty())
}

/// A redis-server process of one test's own, on a free loopback port, persisting nothing.
pub struct TestRedis {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl TestRedis {
    /// Whether `redis-server` can be run here; when not, says on stderr that `test` is skipped.
    pub fn available_or_skip(test: &str) -> bool {
        let found = std::process::Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("SKIPPED {test}: it needs redis-server (Debian's redis-server package)");
        }
        found
    }

    /// Starts one.
    pub async fn start() -> TestRedis {
        let mut redis = TestRedis { addr: free_addr(), dir: tempfile::tempdir().expect("temp dir"), child: None };
        redis.spawn().await;
        redis
    }

    /// `redis://ADDR`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .arg("--bind")
            .arg(self.addr.ip().to_string())
            .arg("--port")
            .arg(self.addr.port().to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.log())
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(self.addr).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not listen on {}; log:\n{}",
                self.addr,
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: every connection drops at once, and what Redis held is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGSTOP: connections stay open and nothing answers, like a hung server.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`TestRedis::freeze`]: it answers again, what it had kept.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("redis-server runs");
        // kill(1) sends the signal without pulling in libc.
        let status = std::process::Command::new("kill").arg(signal).arg(pid.to_string()).status().expect("kill(1)");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Starts it again on the same address (empty).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "kill it first");
        self.spawn().await;
    }
}

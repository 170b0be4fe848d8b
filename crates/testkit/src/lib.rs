//! Test support: a real hub on `127.0.0.1:0` (in-process or as a child process) and small,
//! strict clients for its REST routes and its gateway.
//!
//! Nothing here is a mock: [`TestHub`] runs the real `rapport_hub::run` on a real socket with a
//! real SQLite file in a temporary directory — or, when `RAPPORT_TEST_POSTGRES` names a server,
//! a fresh PostgreSQL database of its own ([`TestDatabase`]), and when `RAPPORT_TEST_REDIS`
//! also names a Redis, the hub runs with `--redis` on it (under a key prefix of its own);
//! [`HubProcess`] runs the real binary so tests can SIGKILL it. For tests of several hubs,
//! [`TestRedis`] is a redis-server of one test's own and [`LoadBalancer`] the repository's
//! nginx configuration in front of hubs. For the WhatsApp / SMS bridge, [`twilio_signature`]
//! signs webhooks as Twilio does and
//! [`FakeTwilio`] stands in for Twilio's REST API.
#![deny(missing_docs)]

mod balancer;
mod database;
mod fake_twilio;
mod gateway;
mod process;
mod proxy;
mod redis;
mod rest;
mod twilio;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use fake_twilio::{Failure, FakeTwilio, SentMessage, TWILIO_ACCOUNT_SID};
pub use database::{on_postgres_or_skip, query_integers, PostgresCluster, TestDatabase, POSTGRES_CLUSTER_ENV, POSTGRES_ENV};
pub use gateway::{Closed, Gw};
pub use process::{HubProcess, Launch};
pub use balancer::LoadBalancer;
pub use proxy::Proxy;
pub use redis::{shared_redis, TestRedis, REDIS_ENV};
pub use rapport_hub::Config;
pub use rest::{percent_encode, Api, RawReply, Reply};
pub use twilio::{form_body, twilio_signature, TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen at once.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The integration key the test hubs are started with.
pub const API_KEY: &str = "test-api-key";

/// A hub running inside the test process.
pub struct TestHub {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The configuration it runs with (its data dir holds the SQLite database).
    pub config: Config,
    dir: Arc<tempfile::TempDir>,
    /// Its PostgreSQL database, when the tests run against PostgreSQL; dropped after the hub.
    database: Option<TestDatabase>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestHub {
    /// A hub with the protocol's defaults (and [`API_KEY`]).
    pub async fn start() -> TestHub {
        TestHub::start_with(|_| {}).await
    }

    /// A hub whose configuration `adjust` may change (shorter heartbeats, grace periods, …).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestHub {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut config = Config::new(dir.path());
        config.api_key = Some(API_KEY.to_owned());
        let database = TestDatabase::postgres().await;
        if let Some(database) = &database {
            config.database_url = database.url().to_owned();
        }
        adjust(&mut config);
        if let (Some(url), Some(database), None) = (shared_redis(), &database, &config.redis_url) {
            if rapport_hub::config::is_postgres(&config.database_url) {
                config.redis_url = Some(url);
                config.redis_prefix = database.name().to_owned();
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, task) = spawn(listener, config.clone());
        let hub = TestHub { addr, config, dir, database, stop: Some(stop), task: Some(task) };
        if hub.config.redis_url.is_some() {
            hub.wait_subscribed().await;
        }
        hub
    }

    /// A hub with Redis answers HTTP before its subscriber listens (`/readyz` says 503 until
    /// then); a test starts once it hears what other hubs publish.
    async fn wait_subscribed(&self) {
        assert!(ready_within(&self.url(), READY_WAIT).await, "the hub's Redis subscriber did not start listening within {READY_WAIT:?}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/v1/gateway`.
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/v1/gateway", self.addr)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether it runs on PostgreSQL (else on SQLite in its data directory).
    pub fn on_postgres(&self) -> bool {
        self.config.database_url.starts_with("postgres")
    }

    /// One integer (a `COUNT(*)`, say) that `sql` reads from the hub's own database.
    pub async fn query_integer(&self, sql: &str) -> i64 {
        let values = query_integers(&self.config.database_url, sql).await;
        assert_eq!(values.len(), 1, "{sql} gives one row");
        values[0]
    }

    /// A REST client for this hub.
    pub fn api(&self) -> Api {
        Api::new(&self.url())
    }

    /// Asks the hub to shut down gracefully and waits until `run` has returned.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// Stops the hub without a goodbye: the server task is aborted, so nothing new is accepted
    /// and no 1001 is sent. Already-upgraded WebSocket connections run on tasks of their own and
    /// are not cut by this; cut them with a [`Proxy`], or use [`HubProcess::kill`] for a real
    /// crash.
    pub async fn crash(&mut self) {
        self.stop.take();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Makes the hub's database impossible to open: the SQLite file becomes a directory, or
    /// the PostgreSQL database is dropped. Stop the hub first.
    pub async fn break_database(&mut self) {
        assert!(self.task.is_none(), "stop or crash the hub first");
        match &self.database {
            Some(database) => database.drop_now().await,
            None => {
                let db = self.dir().join("hub.db");
                std::fs::remove_file(&db).expect("the SQLite database exists");
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(self.dir().join(format!("hub.db{suffix}")));
                }
                std::fs::create_dir(&db).expect("a directory where the database was");
            }
        }
    }

    /// Starts the hub again on the same address and data directory.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind the same address");
        let (stop, task) = spawn(listener, self.config.clone());
        self.stop = Some(stop);
        self.task = Some(task);
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn spawn(listener: TcpListener, config: Config) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(rapport_hub::run(listener, config, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// How long a starting hub has to answer `/readyz` with 200.
pub(crate) const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Whether the hub at `base_url` answers `/readyz` with 200 within `wait`.
pub(crate) async fn ready_within(base_url: &str, wait: std::time::Duration) -> bool {
    let url = format!("{base_url}/readyz");
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// A loopback address with a port that was free a moment ago.
pub(crate) fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// The `rapport-hub` binary next to the test executable (`target/<profile>/rapport-hub`), or
/// `RAPPORT_HUB_BIN`.
pub fn hub_binary() -> PathBuf {
    if let Ok(path) = std::env::var("RAPPORT_HUB_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/test");
    profile_dir.join("rapport-hub")
}

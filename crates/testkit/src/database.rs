//! The database a test hub runs on: SQLite in the hub's data directory, or — when
//! `RAPPORT_TEST_POSTGRES` names a PostgreSQL server — a fresh database on that server, created
//! for the hub (or for the hubs that share it) and dropped after it. The whole hub suite thus
//! runs against either database without a line of its own changing.
//!
//! The URL names a role that may create databases, and a database it can connect to, e.g.
//! `postgres://rapport:secret@127.0.0.1:5432/rapport`. `RAPPORT_TEST_POSTGRES_CLUSTER`
//! (`"15 main"`: `pg_ctlcluster`'s version and name) additionally lets tests stop, start and
//! restart that server; only tests that need it run one at a time (`.config/nextest.toml`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{Connection as _, Executor as _, PgConnection, SqliteConnection};

/// Names the PostgreSQL server the tests run against.
pub const POSTGRES_ENV: &str = "RAPPORT_TEST_POSTGRES";

/// Names the `pg_ctlcluster` cluster of that server (`"VERSION NAME"`), for tests that restart it.
pub const POSTGRES_CLUSTER_ENV: &str = "RAPPORT_TEST_POSTGRES_CLUSTER";

/// Whether the tests run against PostgreSQL; when they do not, says on stderr that `test`, which
/// needs it, is skipped.
pub fn on_postgres_or_skip(test: &str) -> bool {
    let configured = std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty());
    if !configured {
        eprintln!("SKIPPED {test}: it needs PostgreSQL; set {POSTGRES_ENV}=postgres://USER:PASSWORD@HOST:PORT/DB");
    }
    configured
}

/// A PostgreSQL database of one test; dropped (with whatever is still connected) when this is.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh, empty database when [`POSTGRES_ENV`] names a server; `None` otherwise (the hub
    /// then keeps SQLite in its data directory).
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|url| !url.is_empty())?;
        Some(TestDatabase::create(admin_url).await)
    }

    /// [`TestDatabase::postgres`], or `None` after saying on stderr why `test` is skipped.
    pub async fn postgres_or_skip(test: &str) -> Option<TestDatabase> {
        if !on_postgres_or_skip(test) {
            return None;
        }
        TestDatabase::postgres().await
    }

    async fn create(admin_url: String) -> TestDatabase {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        // Unique across the test processes that nextest runs side by side.
        let name = format!("rapport_test_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut url = url::Url::parse(&admin_url).unwrap_or_else(|e| panic!("{POSTGRES_ENV} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        let mut admin = admin_connection(&admin_url).await;
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .unwrap_or_else(|e| panic!("creating the test database {name} (the role of {POSTGRES_ENV} needs CREATEDB): {e}"));
        let _ = admin.close().await;
        TestDatabase { admin_url, name, url: url.into() }
    }

    /// Its name, unique across the test processes (also the Redis key prefix of the hubs on it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL a hub is given (`--database`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The password in the URL, if any: tests check that it never reaches a log.
    pub fn password(&self) -> Option<String> {
        url::Url::parse(&self.url).ok()?.password().map(str::to_owned)
    }

    /// Drops the database now, closing every connection to it: a hub can no longer open it.
    pub async fn drop_now(&self) {
        drop_database(&self.admin_url, &self.name).await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs on the test's runtime, which must not block on a future: the database is
        // dropped from a thread with a runtime of its own.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(drop_database(&admin_url, &name));
        })
        .join();
        if dropped.is_err() {
            eprintln!("warning: the test database {} could not be dropped", self.name);
        }
    }
}

async fn admin_connection(admin_url: &str) -> PgConnection {
    PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to the PostgreSQL server of {POSTGRES_ENV}: {e}"))
}

async fn drop_database(admin_url: &str, name: &str) {
    let mut admin = admin_connection(admin_url).await;
    // FORCE (PostgreSQL 13+) ends the sessions of hubs that are still connected, or were killed.
    admin
        .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
        .await
        .unwrap_or_else(|e| panic!("dropping the test database {name}: {e}"));
    let _ = admin.close().await;
}

/// The server of [`POSTGRES_ENV`] as a `pg_ctlcluster` cluster, for tests that stop it.
pub struct PostgresCluster {
    version: String,
    name: String,
}

impl PostgresCluster {
    /// The cluster [`POSTGRES_CLUSTER_ENV`] names, or `None` after saying on stderr why `test`
    /// is skipped.
    pub fn or_skip(test: &str) -> Option<PostgresCluster> {
        let named = std::env::var(POSTGRES_CLUSTER_ENV).unwrap_or_default();
        match named.split_whitespace().collect::<Vec<_>>()[..] {
            [version, name] => Some(PostgresCluster { version: version.to_owned(), name: name.to_owned() }),
            _ => {
                eprintln!("SKIPPED {test}: it restarts PostgreSQL; set {POSTGRES_CLUSTER_ENV}=\"VERSION NAME\" (pg_ctlcluster's arguments) for the server of {POSTGRES_ENV}");
                None
            }
        }
    }

    /// `pg_ctlcluster VERSION NAME stop -m immediate`: every backend is killed at once, as in a
    /// crash; what was committed comes back by recovery at the next start.
    pub async fn stop_immediately(&self) {
        self.ctl(&["stop", "-m", "immediate"]).await;
    }

    /// `pg_ctlcluster VERSION NAME start`.
    pub async fn start(&self) {
        self.ctl(&["start"]).await;
    }

    /// `pg_ctlcluster VERSION NAME restart -m immediate`.
    pub async fn restart_immediately(&self) {
        self.ctl(&["restart", "-m", "immediate"]).await;
    }

    async fn ctl(&self, action: &[&str]) {
        let run = tokio::process::Command::new("pg_ctlcluster").arg(&self.version).arg(&self.name).args(action).output();
        let output = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("pg_ctlcluster finishes within 60 s")
            .expect("running pg_ctlcluster");
        assert!(
            output.status.success(),
            "pg_ctlcluster {} {} {action:?} failed: {}{}",
            self.version,
            self.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The integers one query returns, read from the database at `url` — a hub's `sqlite://PATH`
/// (opened read-only) or `postgres://…` — for tests that look at what the hub stored.
pub async fn query_integers(url: &str, sql: &str) -> Vec<i64> {
    if url.starts_with("sqlite:") {
        let separator = if url.contains('?') { '&' } else { '?' };
        let mut conn = SqliteConnection::connect(&format!("{url}{separator}mode=ro")).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
        let values = sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        values
    } else {
        let mut conn = PgConnection::connect(url).await.unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
        let values = sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
        values
    }
}

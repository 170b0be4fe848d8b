//! PostgreSQL, for several hubs sharing one database: one file per concept of the store's
//! contract (`users`, `logins`, `conversations`, `messages`, `changes`, `attachments`,
//! `receipts`, `notifications`, …, `bridges` and `outbound` for the Twilio bridge), as in
//! `sqlite/`, and `cluster`: what hubs read to catch up on events they missed.
//!
//! Nothing here assumes one hub process. Every invariant is the database's: a conversation's
//! `seq` and `rev` are taken under that conversation's row lock inside the transaction that
//! makes the change, so writers on different hubs — a batch of new messages, an edit, a
//! deletion, a reaction — queue on the row and never leave a gap; a resend is found by its
//! unique key whichever hub stored it first; an upload being attached is locked, so no other
//! hub attaches or expires it meanwhile. Locks are always taken conversations first (in id
//! order), uploads after. Transactions run at READ COMMITTED, so a statement that waited for a
//! lock sees what the lock's holder committed.
//!
//! One bounded pool serves reads and writes (MVCC lets them run side by side). A connection is
//! checked before it is handed out, so the connections a restart of the server killed are
//! replaced on their next use and the hub recovers without a restart of its own; while the
//! server is away, a call waits up to `--database-timeout` for it, then fails with
//! [`StoreError::Unavailable`](super::StoreError::Unavailable).

mod attachments;
mod bridges;
mod changes;
mod cluster;
mod conversations;
mod integrations;
mod logins;
mod messages;
mod notifications;
mod outbound;
mod receipts;
mod scheduled;
mod templates;
mod users;

use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::metrics::histogram::Histogram;
use sqlx::error::DatabaseError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool, Postgres, Transaction};

use super::{Store, StoreError, StoreResult};
use crate::config::Config;

/// How long `/readyz` waits for the database at most: a probe must answer quickly, and a
/// database that needs longer than this for `SELECT 1` is not ready to serve.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// PostgreSQL-backed [`Store`].
pub struct PostgresStore {
    pool: PgPool,
    /// Observes every wait for a pooled connection.
    pool_wait: Histogram,
}

impl PostgresStore {
    /// Connects to the database at `config.database_url` and migrates it. Several hubs may
    /// start at once: the migrator holds an advisory lock while it runs.
    pub async fn open(config: &Config, pool_wait: Histogram) -> anyhow::Result<PostgresStore> {
        let options = PgConnectOptions::from_str(&config.database_url)?.application_name("rapport-hub");
        let pool = PgPoolOptions::new()
            .max_connections(config.database_pool)
            .acquire_timeout(config.database_timeout)
            // A round trip per checkout is what finds the connections a server restart killed
            // before a request runs into them.
            .test_before_acquire(true)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool, pool_wait })
    }

    /// A connection of the pool, its wait observed.
    async fn conn(&self) -> StoreResult<PoolConnection<Postgres>> {
        let started = Instant::now();
        let conn = self.pool.acquire().await;
        self.pool_wait.observe(started.elapsed().as_secs_f64());
        Ok(conn?)
    }
}

/// A read-only transaction on one snapshot: what several statements read together (a page of
/// messages and their reactions, a conversation and its last message) agrees, although other
/// hubs commit in between. Each statement on its own would see a newer state than the last.
pub(super) async fn snapshot(conn: &mut PgConnection) -> StoreResult<Transaction<'_, Postgres>> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    Ok(tx)
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        let ping = async {
            let mut conn = self.conn().await?;
            sqlx::query("SELECT 1").execute(&mut *conn).await?;
            Ok(())
        };
        match tokio::time::timeout(PING_TIMEOUT, ping).await {
            Ok(answer) => answer,
            Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
        }
    }

    /// Nothing to do on demand: a deletion's old row version is invisible to every query at
    /// once and leaves the table's file when (auto)VACUUM prunes it and its space is reused —
    /// what that means for an operator is in docs/operations.md. A VACUUM from every hub after
    /// every deletion would cost far more than it hides.
    async fn purge_removed(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLSTATEs that mean "not now": the connection failed (class 08), the server is shutting
/// down, crashed or starting up (57P01–57P03), it lacks resources such as connection slots
/// (class 53), a failover left us on a read-only standby (25006), or the transaction was
/// rolled back to break a deadlock or a serialization conflict (40P01, 40001).
pub(super) fn is_transient(err: &dyn DatabaseError) -> bool {
    let Some(err) = err.try_downcast_ref::<PgDatabaseError>() else { return false };
    let code = err.code();
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "25006" | "40P01" | "40001")
}

/// PostgreSQL's text cannot hold U+0000 (22021 for `text`, 22P05 for `jsonb`), where SQLite's
/// can: such input is refused as invalid instead of failing as an internal error.
pub(super) fn is_invalid_text(err: &dyn DatabaseError) -> bool {
    err.try_downcast_ref::<PgDatabaseError>().is_some_and(|err| matches!(err.code(), "22021" | "22P05"))
}

/// Whether the failure is one that retrying the same transaction at once can cure: it lost a
/// deadlock or a serialization conflict against another writer.
fn lost_a_race(err: &StoreError) -> bool {
    match err {
        StoreError::Unavailable(err) => match err.as_ref() {
            sqlx::Error::Database(db) => db
                .try_downcast_ref::<PgDatabaseError>()
                .is_some_and(|db| matches!(db.code(), "40P01" | "40001")),
            _ => false,
        },
        _ => false,
    }
}

/// Set-ups shared by the tests of every concept: a fresh database on the server that
/// `RAPPORT_TEST_POSTGRES` names, made and dropped by the test kit (the tests skip without one).
#[cfg(test)]
mod test_support {
    use super::*;
    use crate::store::{NewUser, UserStore as _};
    use rapport_protocol::Role;
    use rapport_testkit::TestDatabase;

    /// A store on a fresh database, and the database (dropped with it); `None` when no
    /// server is configured.
    pub async fn store(test: &str) -> Option<(PostgresStore, TestDatabase)> {
        let database = TestDatabase::postgres_or_skip(test).await?;
        let mut config = Config::new(std::env::temp_dir());
        config.database_url = database.url().to_owned();
        let store = PostgresStore::open(&config, Histogram::new([1.0])).await.unwrap();
        Some((store, database))
    }

    /// A user named `name` (`name@example.com`); returns their id.
    pub async fn user(store: &PostgresStore, name: &str) -> String {
        let email = format!("{name}@example.com");
        let new = NewUser { email: &email, password_hash: "x", display_name: name, role: Role::Candidate };
        store.create_user(new).await.unwrap().id
    }
}

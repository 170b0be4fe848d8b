//! A database made by the v1 hub opens with this hub and is upgraded in place — SQLite's file
//! and PostgreSQL's database alike: its users log in, its messages keep their seqs and become
//! the changes that created them, and the 1.1 operations work on them.

use std::path::Path;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use rapport_testkit::{on_postgres_or_skip, query_integers, Gw, TestDatabase, TestHub, POSTGRES_ENV};
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _};

use crate::support::{send, target};

/// What the v1 hub had stored: two users, a conversation and three messages, as statements
/// both databases take.
fn v1_rows() -> Vec<String> {
    let salt = SaltString::encode_b64(b"a fixed test salt").unwrap();
    let hash = argon2::Argon2::default().hash_password(b"correct horse", &salt).unwrap().to_string();
    let mut rows = Vec::new();
    for (id, email, name, role) in [("u-ada", "ada@v1.test", "Ada", "recruiter"), ("u-bob", "bob@v1.test", "Bob", "candidate")] {
        rows.push(format!(
            "INSERT INTO users (id, email, password_hash, display_name, display_name_folded, role, created_at) VALUES ('{id}', '{email}', '{hash}', '{name}', '{}', '{role}', 1700000000000)",
            name.to_lowercase()
        ));
    }
    rows.push("INSERT INTO conversations (id, kind, title, direct_key, last_seq, created_at, last_activity_at) VALUES ('c-v1', 'direct', NULL, 'u-ada:u-bob', 3, 1700000000000, 1700000300000)".to_owned());
    for (user, read) in [("u-ada", 3), ("u-bob", 1)] {
        rows.push(format!("INSERT INTO members (conversation_id, user_id, read_seq, delivered_seq, joined_at) VALUES ('c-v1', '{user}', {read}, {read}, 1700000000000)"));
    }
    for (seq, sender, body) in [(1, "u-ada", "Hello Bob"), (2, "u-bob", "Hi Ada"), (3, "u-ada", "Are you free on Monday?")] {
        rows.push(format!(
            "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES ('m-v1-{seq}', 'c-v1', {seq}, '{sender}', 'k{seq}', '{body}', {})",
            1700000000000i64 + seq * 1000
        ));
    }
    rows
}

/// A migrator that knows only the v1 migration of `backend` (`sqlite` or `postgres`), as the
/// v1 hub shipped it, so that its bookkeeping is the real one.
async fn v1_migrator(dir: &Path, backend: &str) -> Migrator {
    let migrations = dir.join(format!("v1-migrations-{backend}"));
    std::fs::create_dir_all(&migrations).unwrap();
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend).join("0001_init.sql");
    std::fs::copy(v1, migrations.join("0001_init.sql")).unwrap();
    Migrator::new(migrations.as_path()).await.unwrap()
}

/// A SQLite file exactly as the v1 hub left it; its URL.
async fn v1_sqlite(dir: &Path) -> String {
    let path = dir.join("v1.db");
    let mut conn = SqliteConnectOptions::new().filename(&path).create_if_missing(true).connect().await.unwrap();
    v1_migrator(dir, "sqlite").await.run(&mut conn).await.unwrap();
    for row in v1_rows() {
        conn.execute(row.as_str()).await.unwrap();
    }
    conn.close().await.unwrap();
    format!("sqlite://{}", path.display())
}

/// A PostgreSQL database exactly as the v1 hub left it.
async fn v1_postgres(dir: &Path, database: &TestDatabase) {
    let mut conn = sqlx::PgConnection::connect(database.url()).await.unwrap();
    v1_migrator(dir, "postgres").await.run(&mut conn).await.unwrap();
    for row in v1_rows() {
        conn.execute(row.as_str()).await.unwrap();
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_v1_sqlite_file_is_upgraded_in_place_and_keeps_everything() {
    if std::env::var(POSTGRES_ENV).is_ok_and(|url| !url.is_empty()) {
        eprintln!("SKIPPED a_v1_sqlite_file_is_upgraded_in_place_and_keeps_everything: it upgrades a SQLite file; the PostgreSQL run has its own upgrade test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = v1_sqlite(dir.path()).await;
    upgraded_in_place(&url).await;
}

#[tokio::test]
async fn a_v1_postgres_database_is_upgraded_in_place_and_keeps_everything() {
    if !on_postgres_or_skip("a_v1_postgres_database_is_upgraded_in_place_and_keeps_everything") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::postgres().await.expect("a server");
    v1_postgres(dir.path(), &database).await;
    upgraded_in_place(database.url()).await;
}

/// Opens a hub on the v1 database at `url` and checks that nothing was lost and 1.1 works.
async fn upgraded_in_place(url: &str) {
    let hub = TestHub::start_with(|c| c.database_url = url.to_owned()).await;
    let api = hub.api();

    let login = api.post("/v1/auth/login", json!({"email": "ada@v1.test", "password": "correct horse"})).await;
    assert_eq!(login.status, 200, "a v1 account logs in: {:?}", login.body);
    let ada = api.with_token(login.body["access_token"].as_str().unwrap());
    let conversation = ada.get("/v1/conversations/c-v1").await.body;
    assert_eq!((conversation["last_seq"].as_i64(), conversation["last_rev"].as_i64()), (Some(3), Some(3)), "each v1 message was one change");
    assert_eq!(conversation["last_message"]["body"], "Are you free on Monday?");
    let history = ada.get("/v1/conversations/c-v1/messages").await.body;
    let messages = history["messages"].as_array().unwrap();
    let seen: Vec<(i64, i64, &str)> = messages.iter().map(|m| (m["seq"].as_i64().unwrap(), m["rev"].as_i64().unwrap(), m["body"].as_str().unwrap())).collect();
    assert_eq!(seen, vec![(1, 1, "Hello Bob"), (2, 2, "Hi Ada"), (3, 3, "Are you free on Monday?")], "nothing lost, rev = seq");
    assert_eq!((messages[0]["kind"].as_str(), messages[0]["edited_at"].is_null(), messages[0]["reactions"].clone()), (Some("text"), true, json!([])));
    let bob_login = api.post("/v1/auth/login", json!({"email": "bob@v1.test", "password": "correct horse"})).await;
    let bob = api.with_token(bob_login.body["access_token"].as_str().unwrap());
    assert_eq!(bob.get("/v1/conversations/c-v1").await.body["unread_count"], 1, "receipts survive");

    // The 1.1 operations work on the old messages, and new ones continue the counters.
    let (mut gw, _) = Gw::ready(&hub.gateway_url(), login.body["access_token"].as_str().unwrap()).await;
    let edited = gw.request("message.edit", target("c-v1", &json!("m-v1-3"), json!({"body": "Are you free on Tuesday?"}))).await;
    assert_eq!(edited["data"]["message"]["rev"], 4, "{edited}");
    let reacted = gw.request("message.react", target("c-v1", &json!("m-v1-2"), json!({"emoji": "👋", "on": true}))).await;
    assert_eq!(reacted["data"]["message"]["reactions"][0]["user_ids"], json!(["u-ada"]));
    let new = send(&mut gw, "c-v1", "k4", "New message").await;
    assert_eq!((new["seq"].as_i64(), new["rev"].as_i64()), (Some(4), Some(6)));
    let resend = gw.request("message.send", json!({"conversation_id": "c-v1", "client_msg_id": "k1", "body": "Hello Bob"})).await;
    assert_eq!(resend["data"]["message"]["id"], "m-v1-1", "a v1 client id still answers with its v1 message");
    let changes = ada.get("/v1/conversations/c-v1/messages?changed_after_rev=3").await.body;
    let revs: Vec<i64> = changes["messages"].as_array().unwrap().iter().map(|m| m["rev"].as_i64().unwrap()).collect();
    assert_eq!(revs, vec![4, 5, 6]);

    // The schema is the new one, recorded as such: a restart does not migrate again.
    let versions = query_integers(url, "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").await;
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6], "every migration since v1 ran, once (0004: recruiting, 1.1 §3; 0005, 0006: the Twilio bridge and its outbox, §5)");
    let mut hub = hub;
    hub.stop().await.unwrap();
    hub.restart().await;
    let again = ada.get("/v1/conversations/c-v1/messages?changed_after_rev=0").await.body;
    assert_eq!(again["messages"].as_array().unwrap().len(), 4, "the upgraded database opens again as it is");
}

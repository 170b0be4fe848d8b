//! The cache's 1.1 rules on a real SQLite file: a profile of the previous engine upgrades in
//! place, an older copy never replaces a newer one, deltas apply only on a known-current state,
//! the index follows edits and forgets deletions, and queued changes show over the hub's state.

use std::str::FromStr as _;

use rapport_protocol::{Attachment, Conversation, ConversationKind, Message, Reaction};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Applied, Cache, OutboxEntry, Target};
use crate::event::{ChangeKind, MessageState};

const ME: &str = "me";

fn conversation(last_seq: i64, last_rev: i64) -> Conversation {
    Conversation {
        id: "c".into(),
        kind: ConversationKind::Direct,
        title: None,
        members: vec![],
        last_seq,
        last_message: None,
        unread_count: 0,
        created_at: "2026-01-01T00:00:00Z".into(),
        last_rev,
        application: None,
        bridge: None,
    }
}

fn message(seq: i64, rev: i64, body: &str) -> Message {
    Message {
        id: format!("m{seq}"),
        conversation_id: "c".into(),
        seq,
        sender_id: ME.into(),
        body: body.into(),
        client_msg_id: format!("k{seq}"),
        created_at: format!("2026-01-01T10:00:{seq:02}Z"),
        rev,
        ..Message::default()
    }
}

async fn cache_with(messages: &[Message], last_rev: i64) -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).await.unwrap();
    cache.upsert_conversation(&conversation(messages.len() as i64, last_rev)).await.unwrap();
    cache.insert_messages(messages, ME).await.unwrap();
    (dir, cache)
}

async fn body_of(cache: &Cache, id: &str) -> String {
    cache.message(id, ME).await.unwrap().expect("cached").body
}

/// A profile the previous engine wrote (migrations 0001–0003): messages, the index, a queued
/// send. It opens, keeps all of it, and the hub's 1.1 copies replace the old rows.
#[tokio::test]
async fn a_profile_of_the_previous_engine_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    for (name, text) in [
        ("0001_cache.sql", include_str!("../../migrations/0001_cache.sql")),
        ("0002_fts_explicit_insert.sql", include_str!("../../migrations/0002_fts_explicit_insert.sql")),
        ("0003_outbox_codes.sql", include_str!("../../migrations/0003_outbox_codes.sql")),
    ] {
        std::fs::write(migrations.join(name), text).unwrap();
    }
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.path().join("cache.db").display())).unwrap().create_if_missing(true);
    let pool = SqlitePoolOptions::new().connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(migrations.as_path()).await.unwrap().run(&pool).await.unwrap();
    for statement in [
        "INSERT INTO conversations (id, kind, created_at, hub_last_seq, synced_seq, last_activity) VALUES ('c', 'direct', '2026-01-01T00:00:00Z', 2, 2, '2026-01-01T00:00:00Z')",
        "INSERT INTO messages (id, conversation_id, seq, sender_id, body, client_msg_id, created_at) VALUES ('m1', 'c', 1, 'me', 'the salary band', 'k1', '2026-01-01T10:00:01Z')",
        "INSERT INTO messages (id, conversation_id, seq, sender_id, body, client_msg_id, created_at) VALUES ('m2', 'c', 2, 'other', 'see you monday', 'k2', '2026-01-01T10:00:02Z')",
        "INSERT INTO messages_fts (rowid, body) SELECT rowid, body FROM messages",
        "INSERT INTO outbox (client_msg_id, conversation_id, sender_id, body, created_at) VALUES ('q', 'c', 'me', 'still queued', '2026-01-01T10:00:03Z')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let cache = Cache::open(dir.path()).await.expect("the 1.1 schema migrates an existing profile");
    let page = cache.history("c", None, 10, ME).await.unwrap();
    let shown: Vec<(&str, i64, MessageState)> = page.messages.iter().map(|m| (m.body.as_str(), m.rev, m.state)).collect();
    assert_eq!(
        shown,
        [("the salary band", 0, MessageState::Sent), ("see you monday", 0, MessageState::Delivered), ("still queued", 0, MessageState::Pending)],
        "every cached message and the queued send are still there, the old rows at rev 0 (unknown)"
    );
    assert_eq!(cache.search("salary", 10, ME).await.unwrap().len(), 1, "the old index still finds old messages");
    assert_eq!(cache.pending().await.unwrap().len(), 1, "the queued send still goes out");

    // The first 1.1 catch-up brings the hub's copies: edited, with reactions.
    let edited = Message {
        body: "the salary band, edited".into(),
        edited_at: Some("2026-01-02T00:00:00Z".into()),
        reactions: vec![Reaction { emoji: "👍".into(), user_ids: vec!["other".into()] }],
        ..message(1, 5, "")
    };
    let done = cache.insert_messages(&[edited, Message { sender_id: "other".into(), ..message(2, 2, "see you monday") }], ME).await.unwrap();
    assert_eq!(done.changed.len(), 1, "only the edited message changed: {:?}", done.changed);
    assert!(done.changed[0].content);
    let m1 = cache.message("m1", ME).await.unwrap().unwrap();
    assert_eq!((m1.rev, m1.edited_at.is_some(), m1.reactions.len()), (5, true, 1), "{m1:?}");
    assert_eq!(cache.search("edited", 10, ME).await.unwrap().len(), 1, "the index follows the edit");
}

#[tokio::test]
async fn an_older_copy_never_replaces_a_newer_one() {
    let (_dir, cache) = cache_with(&[message(1, 1, "first")], 1).await;
    cache.insert_messages(&[Message { edited_at: Some("t".into()), ..message(1, 4, "newer") }], ME).await.unwrap();
    let stale = cache.insert_messages(&[Message { edited_at: Some("t".into()), ..message(1, 3, "older") }], ME).await.unwrap();
    assert!(stale.changed.is_empty(), "a copy at rev 3 arrives after one at rev 4");
    assert_eq!(body_of(&cache, "m1").await, "newer");
    let (applied, _) = cache.apply_deletion("c", "m1", 2, "t").await.unwrap();
    assert_eq!(applied, Applied::Stale, "a deletion older than the cached state is ignored");
    assert_eq!(cache.apply_reaction("c", "m1", "u", "👍", true, 4).await.unwrap(), Applied::Stale, "the same rev again");
}

#[tokio::test]
async fn a_reaction_applies_only_on_a_state_known_to_be_current() {
    let (_dir, cache) = cache_with(&[message(1, 1, "a"), message(2, 2, "b")], 2).await;
    assert_eq!(cache.rev_position("c").await.unwrap().0, 2, "synced_rev follows the revs the cache holds");
    assert_eq!(cache.apply_reaction("c", "m1", "u", "👍", true, 3).await.unwrap(), Applied::Changed);
    assert_eq!(cache.rev_position("c").await.unwrap().0, 3);
    // Rev 4 was missed: the reaction at rev 5 cannot be laid over what may be an old state.
    assert_eq!(cache.apply_reaction("c", "m2", "u", "🎉", true, 5).await.unwrap(), Applied::Later);
    assert!(cache.message("m2", ME).await.unwrap().unwrap().reactions.is_empty(), "nothing guessed");
    // A deletion is final whatever came before it, so it applies in a gap too.
    let (applied, _) = cache.apply_deletion("c", "m2", 6, "t").await.unwrap();
    assert_eq!(applied, Applied::Changed);
    assert_eq!(cache.rev_position("c").await.unwrap().0, 3, "but the gap at 4–5 stays until a catch-up fills it");
    cache.rev_page_applied("c", 5).await.unwrap();
    assert_eq!(cache.rev_position("c").await.unwrap().0, 6, "a page up to 5 and the cached rev 6 close it");
    let tombstone = cache.message("m2", ME).await.unwrap().unwrap();
    assert_eq!((tombstone.body.as_str(), tombstone.deleted_at.is_some(), tombstone.seq), ("", true, Some(2)), "a tombstone keeps its seq");
}

#[tokio::test]
async fn the_index_follows_edits_and_forgets_deletions() {
    let (_dir, cache) = cache_with(&[message(1, 1, "remote salary"), message(2, 2, "onsite salary")], 2).await;
    assert_eq!(cache.search("salary", 10, ME).await.unwrap().len(), 2);
    cache.insert_messages(&[Message { edited_at: Some("t".into()), ..message(1, 3, "remote only") }], ME).await.unwrap();
    cache.apply_deletion("c", "m2", 4, "t").await.unwrap();
    assert!(cache.search("salary", 10, ME).await.unwrap().is_empty(), "neither the old body of an edit nor a deleted one is found");
    assert_eq!(cache.search("only", 10, ME).await.unwrap().len(), 1, "the new body is");
    assert!(cache.search("onsite", 10, ME).await.unwrap().is_empty());
}

#[tokio::test]
async fn queued_changes_show_over_the_hubs_state_and_coalesce() {
    let file = Attachment { id: "a1".into(), filename: "cv.pdf".into(), content_type: "application/pdf".into(), size: 3, sha256: "00".into(), width: None, height: None };
    let (_dir, cache) = cache_with(&[message(1, 1, "typo"), Message { attachments: vec![file], ..message(2, 2, "cv") }], 2).await;
    let target = |id: &'static str| Target { conversation_id: "c", message_id: Some(id), client_msg_id: "k", sender_id: ME, now: "2026-01-03T00:00:00Z" };
    let first = cache.queue_edit(&target("m1"), "fixed").await.unwrap();
    let again = cache.queue_edit(&target("m1"), "fixed twice").await.unwrap();
    assert_eq!(first, again, "a second edit of the same message replaces the queued one");
    cache.queue_react(&target("m1"), "👍", true).await.unwrap();
    let m1 = cache.message("m1", ME).await.unwrap().unwrap();
    assert_eq!(m1.body, "fixed twice", "the queued body is shown");
    assert_eq!(m1.change.as_ref().map(|c| (c.kind, c.state)), Some((ChangeKind::Edit, MessageState::Pending)));
    assert!(m1.reactions[0].mine && m1.reactions[0].pending, "the queued reaction is shown as this user's, pending: {:?}", m1.reactions);
    assert_eq!(cache.pending().await.unwrap().len(), 2, "one edit and one reaction are queued");

    // The ack of the first edit comes back after the second was queued: the row stays.
    assert!(!cache.change_applied(&first, "fixed", None).await.unwrap(), "a row that changed since it was sent stays");
    assert!(cache.change_applied(&first, "fixed twice", None).await.unwrap());

    cache.queue_delete(&target("m2")).await.unwrap();
    let m2 = cache.message("m2", ME).await.unwrap().unwrap();
    assert!(m2.deleted_at.is_some() && m2.attachments.is_empty() && m2.body.is_empty(), "a queued deletion shows as a tombstone: {m2:?}");
    let before = cache.history("c", None, 10, ME).await.unwrap();
    assert_eq!(before.messages.len(), 2, "changes are not messages of their own in the history");
}

#[tokio::test]
async fn an_acknowledged_send_whose_body_changed_meanwhile_becomes_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).await.unwrap();
    cache.upsert_conversation(&conversation(0, 0)).await.unwrap();
    let entry = OutboxEntry::send("k1".into(), Some("c".into()), None, ME.into(), "hello wrld".into(), None, "2026-01-01T00:00:00Z".into());
    cache.enqueue(&entry, &[]).await.unwrap();
    assert!(cache.edit_queued_send("k1", "hello world").await.unwrap());
    // The hub acknowledges the body that was on its way.
    let done = cache.insert_messages(&[message(1, 1, "hello wrld")], ME).await.unwrap();
    assert_eq!(done.acked, ["k1"]);
    let queued = cache.pending().await.unwrap();
    assert_eq!(queued.len(), 1, "the send became an edit");
    assert_eq!((queued[0].op, queued[0].message_id.as_deref(), queued[0].body.as_str()), (super::Op::Edit, Some("m1"), "hello world"));
    assert_eq!(body_of(&cache, "m1").await, "hello world", "and the message shows the body the user wants");
}

/// A conversation with a WhatsApp contact keeps the hub's `bridge` for the list, offline too,
/// and follows the hub's copy when it changes.
#[tokio::test]
async fn a_bridged_conversation_keeps_its_channel_and_numbers() {
    use rapport_protocol::{Bridge, BridgeChannel};
    let (_dir, cache) = cache_with(&[], 0).await;
    assert_eq!(cache.summary("c", ME).await.unwrap().unwrap().bridge, None, "not bridged");
    let bridge = Bridge { channel: BridgeChannel::Whatsapp, number: "+4915112345678".into(), via: "+14155550100".into() };
    cache.upsert_conversation(&Conversation { bridge: Some(bridge.clone()), ..conversation(0, 0) }).await.unwrap();
    assert_eq!(cache.summary("c", ME).await.unwrap().unwrap().bridge, Some(bridge.clone()));
    let sms = Bridge { channel: BridgeChannel::Sms, ..bridge };
    cache.upsert_conversation(&Conversation { bridge: Some(sms.clone()), ..conversation(0, 0) }).await.unwrap();
    assert_eq!(cache.summary("c", ME).await.unwrap().unwrap().bridge, Some(sms), "the hub's newest copy wins");
}

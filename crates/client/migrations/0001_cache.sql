-- The local cache of one profile. The hub is the source of truth; this is a faithful copy plus
-- the outbox (which is the source of truth for messages not yet acknowledged).

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL,
    email        TEXT
);
CREATE INDEX users_email ON users (email);

CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL,
    title              TEXT,
    created_at         TEXT NOT NULL,
    -- Newest seq the hub is known to have.
    hub_last_seq       INTEGER NOT NULL DEFAULT 0,
    -- Every message with 1 <= seq <= synced_seq is cached (the gap-free prefix).
    synced_seq         INTEGER NOT NULL DEFAULT 0,
    -- Ordering key of the conversation list: newest message time, or creation time.
    last_activity      TEXT NOT NULL,
    muted              INTEGER NOT NULL DEFAULT 0,
    -- Highest `read` / `delivered` position the hub acknowledged from this device.
    read_sent_seq      INTEGER NOT NULL DEFAULT 0,
    delivered_sent_seq INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    delivered_seq   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    sender_id       TEXT NOT NULL,
    body            TEXT NOT NULL,
    client_msg_id   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (conversation_id, seq)
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL,
    read       INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- Messages composed here and not yet acknowledged (state 'pending') or refused for good
-- ('failed'). Flushed in `position` order; a row is deleted in the same transaction that
-- stores the acknowledged message.
CREATE TABLE outbox (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_msg_id   TEXT NOT NULL UNIQUE,
    conversation_id TEXT,
    to_email        TEXT,
    sender_id       TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0
);

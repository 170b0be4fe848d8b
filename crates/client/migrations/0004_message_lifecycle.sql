-- Protocol 1.1: messages people can fix (edits, deletions, reactions, replies, attachments).
-- A profile of an earlier engine upgrades in place: its cached messages keep everything they had
-- and count as rev 0, "unknown", so that the first catch-up's copy of each one from the hub
-- (`changed_after_rev=0`) replaces it.

-- The message as the hub has it now. `reactions` is the hub's list as JSON
-- (`[{"emoji", "user_ids"}]`, ordered by first use): it is always read and written whole.
-- A deleted message keeps its row (and seq) as a tombstone: body '', no reactions, no files.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE messages ADD COLUMN reply_to TEXT;
ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_rev ON messages (conversation_id, rev);
CREATE INDEX messages_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;

-- `hub_last_rev`: the newest rev the hub is known to have. `synced_rev`: every message whose
-- rev at the hub is at most this is cached as the hub has it (the rev counterpart of
-- `synced_seq`; catch-up pages `changed_after_rev` from here).
ALTER TABLE conversations ADD COLUMN hub_last_rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN synced_rev INTEGER NOT NULL DEFAULT 0;

-- An edit changes the indexed body: the old terms go, the new ones come. A tombstone's body is
-- '', so a deleted message is forgotten by the index. (Inserts stay one statement per batch,
-- see 0002; edits are rare enough for a trigger.)
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages WHEN old.body IS NOT new.body BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;

-- Files of cached messages: the metadata only (the bytes are downloaded on demand).
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    width        INTEGER,
    height       INTEGER
);
CREATE INDEX attachments_message ON attachments (message_id, position);

-- Files kept on this device (downloaded, or sent from here), at most the engine's cap in all;
-- the least recently used go first. `path` is relative to the profile directory.
CREATE TABLE downloads (
    attachment_id TEXT NOT NULL,
    variant       TEXT NOT NULL,
    path          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    last_used     INTEGER NOT NULL,
    PRIMARY KEY (attachment_id, variant)
);
CREATE INDEX downloads_lru ON downloads (last_used);

-- The outbox holds every kind of op now, in one order: `send` (as before, plus `reply_to` and
-- files), `edit` (body), `delete`, `react` (emoji, react_on). A change targets `message_id`, or,
-- for a delete of an own message whose send is still unacknowledged, `target_client_msg_id`
-- (resolved once that send is acknowledged). `client_msg_id` is the op's own id for changes.
ALTER TABLE outbox ADD COLUMN op TEXT NOT NULL DEFAULT 'send';
ALTER TABLE outbox ADD COLUMN message_id TEXT;
ALTER TABLE outbox ADD COLUMN target_client_msg_id TEXT;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
ALTER TABLE outbox ADD COLUMN emoji TEXT;
ALTER TABLE outbox ADD COLUMN react_on INTEGER;
CREATE INDEX outbox_targets ON outbox (message_id) WHERE message_id IS NOT NULL;

-- The files of a queued send: a copy made in the profile when it was queued (`staged`,
-- relative to the profile directory), and the hub's upload id once the whole file is there.
CREATE TABLE outbox_files (
    client_msg_id TEXT NOT NULL REFERENCES outbox (client_msg_id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    staged        TEXT NOT NULL,
    attachment_id TEXT,
    uploaded_at   INTEGER,
    PRIMARY KEY (client_msg_id, position)
);

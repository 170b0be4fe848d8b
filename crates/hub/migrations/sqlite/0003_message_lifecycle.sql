-- Protocol 1.1: edits, tombstones, reactions, replies, attachments and the change counter.
-- A v1 database upgrades in place: every existing message becomes the change that created it.

-- `last_rev` moves in the same transaction as the change that takes it (gap-free, like last_seq).
ALTER TABLE conversations ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
    CHECK (kind IN ('text', 'job', 'application_status', 'system'));
ALTER TABLE messages ADD COLUMN card TEXT;               -- JSON, NULL for plain text and tombstones
ALTER TABLE messages ADD COLUMN reply_to TEXT;           -- a message id of the same conversation
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;      -- set: a tombstone (body '', no files)
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;  -- the rev of its latest change

-- Before 1.1 the only change was a message's creation, in seq order.
UPDATE messages SET rev = seq;
UPDATE conversations SET last_rev = last_seq;

-- One change per rev, and `changed_after_rev` pages along this index.
CREATE UNIQUE INDEX messages_by_rev ON messages (conversation_id, rev);

CREATE TABLE reactions (
    message_id TEXT NOT NULL REFERENCES messages (id),
    emoji      TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    added_rev  INTEGER NOT NULL,                         -- orders emoji by first use, users by time
    PRIMARY KEY (message_id, emoji, user_id)
);

-- An upload, and once sent the attachment of one message. The bytes live in the blob
-- directory under the id, never in the database.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    uploader_id  TEXT NOT NULL REFERENCES users (id),
    filename     TEXT NOT NULL,                          -- already made safe
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,                          -- lower-case hex
    width        INTEGER,
    height       INTEGER,
    created_at   INTEGER NOT NULL,
    message_id   TEXT REFERENCES messages (id),          -- NULL until a message carries it
    position     INTEGER                                 -- its place among the message's files
);
CREATE INDEX attachments_by_message ON attachments (message_id, position);
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;

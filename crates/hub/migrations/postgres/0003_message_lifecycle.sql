-- Protocol 1.1: edits, tombstones, reactions, replies, attachments and the change counter, as
-- in migrations/sqlite/0003_message_lifecycle.sql. A database of schema version 1 or 2 upgrades
-- in place: every existing message becomes the change that created it.
--
-- The migrator runs this in one transaction under its advisory lock, so hubs starting together
-- wait for it, and a failure leaves the schema as it was. Adding a column with a constant
-- default only touches the catalog; the two UPDATEs below rewrite every message and
-- conversation row once.

-- `last_rev` moves under the conversation's row lock, in the transaction of the change that
-- takes it (gap-free, like last_seq, whichever hub writes).
ALTER TABLE conversations ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;

ALTER TABLE messages
    ADD COLUMN kind       TEXT NOT NULL DEFAULT 'text'
                          CHECK (kind IN ('text', 'job', 'application_status', 'system')),
    ADD COLUMN card       JSONB,                       -- NULL for plain text and tombstones
    ADD COLUMN reply_to   TEXT COLLATE "C",            -- a message id of the same conversation
    ADD COLUMN edited_at  BIGINT,
    ADD COLUMN deleted_at BIGINT,                      -- set: a tombstone (body '', no files)
    ADD COLUMN rev        BIGINT NOT NULL DEFAULT 0;   -- the rev of its latest change

-- Before 1.1 the only change was a message's creation, in seq order.
UPDATE messages SET rev = seq;
UPDATE conversations SET last_rev = last_seq;

-- One change per rev, and `changed_after_rev` pages along this index.
CREATE UNIQUE INDEX messages_by_rev ON messages (conversation_id, rev);

CREATE TABLE reactions (
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id),
    emoji      TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    added_rev  BIGINT NOT NULL,                        -- orders emoji by first use, users by time
    PRIMARY KEY (message_id, emoji, user_id)
);

-- An upload, and once sent the attachment of one message. The bytes live in the blob
-- directory (shared by every hub of this database) under the id, never in the database.
CREATE TABLE attachments (
    id           TEXT COLLATE "C" PRIMARY KEY,
    uploader_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    filename     TEXT NOT NULL,                        -- already made safe
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,                        -- lower-case hex
    width        INTEGER,
    height       INTEGER,
    created_at   BIGINT NOT NULL,
    message_id   TEXT COLLATE "C" REFERENCES messages (id),  -- NULL until a message carries it
    position     INTEGER                               -- its place among the message's files
);
CREATE INDEX attachments_by_message ON attachments (message_id, position);
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;

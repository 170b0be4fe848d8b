-- A client_msg_id is unique per sender within one conversation. Version 1 made it unique per
-- sender across all conversations, so reusing one in another conversation answered with the
-- first conversation's message and stored nothing.
-- SQLite cannot change a table's constraints in place: the table is rebuilt, every row kept
-- (no other table refers to messages, and it has no triggers, views or further indexes).

CREATE TABLE messages_v2 (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    sender_id       TEXT NOT NULL REFERENCES users (id),
    client_msg_id   TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, conversation_id, client_msg_id)
);

INSERT INTO messages_v2 (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
    SELECT id, conversation_id, seq, sender_id, client_msg_id, body, created_at FROM messages;

DROP TABLE messages;

ALTER TABLE messages_v2 RENAME TO messages;

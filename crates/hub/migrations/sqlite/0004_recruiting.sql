-- Protocol 1.1, §3: saved replies, scheduled messages, and the application-status integration.
-- A database of an earlier version upgrades in place: nothing existing is rewritten.

-- A recruiter's saved replies, private to their owner.
CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);

-- A `message.send` with `send_at`, kept until its time. It becomes a message with the same
-- (sender, conversation, client_msg_id), so a hub that sends it twice (its claim expired while
-- it was stopped) stores it once: the second insert is a resend.
CREATE TABLE scheduled_messages (
    id              TEXT PRIMARY KEY,
    sender_id       TEXT NOT NULL REFERENCES users (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    client_msg_id   TEXT NOT NULL,
    body            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'job', 'application_status')),
    card            TEXT,                      -- JSON, NULL for plain text
    send_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0, -- a hub sending it holds it until then
    sent_at         INTEGER,                   -- set once it was sent (or failed for good)
    message_id      TEXT,                      -- the message it became
    failure         TEXT,                      -- why it could not be sent, when it could not
    UNIQUE (sender_id, conversation_id, client_msg_id)
);
CREATE INDEX scheduled_due ON scheduled_messages (send_at) WHERE sent_at IS NULL;
CREATE INDEX scheduled_by_sender ON scheduled_messages (sender_id, send_at) WHERE sent_at IS NULL;

-- What the applicant-tracking system already told us: the same external_id is the same message,
-- and its candidate is notified once.
CREATE TABLE integration_events (
    external_id     TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    message_id      TEXT NOT NULL REFERENCES messages (id),
    notification_id TEXT REFERENCES notifications (id),
    created_at      INTEGER NOT NULL
);

-- `Conversation.application` is the conversation's latest status card: found along this index.
CREATE INDEX messages_application ON messages (conversation_id, seq) WHERE kind = 'application_status';

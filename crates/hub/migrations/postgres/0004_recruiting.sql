-- Protocol 1.1, §3: saved replies, scheduled messages, and the application-status integration,
-- as in migrations/sqlite/0005_recruiting.sql. A database of an earlier version upgrades in
-- place: nothing existing is rewritten (the migrator runs this in one transaction under its
-- advisory lock, so hubs starting together wait for it).

-- A recruiter's saved replies, private to their owner.
CREATE TABLE templates (
    id         TEXT COLLATE "C" PRIMARY KEY,
    owner_id   TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    name       TEXT COLLATE "C" NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner_id, name)
);

-- A `message.send` with `send_at`, kept until its time. Hubs claim due rows with a conditional
-- UPDATE over `FOR UPDATE SKIP LOCKED`, so one hub sends each; and it becomes a message with the
-- same (sender, conversation, client_msg_id), so a second send after an expired claim is a
-- resend, stored once.
CREATE TABLE scheduled_messages (
    id              TEXT COLLATE "C" PRIMARY KEY,
    sender_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    client_msg_id   TEXT COLLATE "C" NOT NULL,
    body            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'job', 'application_status')),
    card            JSONB,                      -- NULL for plain text
    send_at         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,  -- a hub sending it holds it until then
    sent_at         BIGINT,                     -- set once it was sent (or failed for good)
    message_id      TEXT COLLATE "C",           -- the message it became
    failure         TEXT,                       -- why it could not be sent, when it could not
    UNIQUE (sender_id, conversation_id, client_msg_id)
);
CREATE INDEX scheduled_due ON scheduled_messages (send_at) WHERE sent_at IS NULL;
CREATE INDEX scheduled_by_sender ON scheduled_messages (sender_id, send_at) WHERE sent_at IS NULL;

-- What the applicant-tracking system already told us: the same external_id is the same message,
-- and its candidate is notified once (the row is locked by the hub that notifies).
CREATE TABLE integration_events (
    external_id     TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    message_id      TEXT COLLATE "C" NOT NULL REFERENCES messages (id),
    notification_id TEXT COLLATE "C" REFERENCES notifications (id),
    created_at      BIGINT NOT NULL
);

-- `Conversation.application` is the conversation's latest status card: found along this index.
CREATE INDEX messages_application ON messages (conversation_id, seq) WHERE kind = 'application_status';

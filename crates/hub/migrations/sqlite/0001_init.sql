-- Rapport hub schema, version 1. Times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,      -- lower-cased
    password_hash       TEXT NOT NULL,             -- argon2id PHC string
    display_name        TEXT NOT NULL,
    display_name_folded TEXT NOT NULL,             -- lower-cased, for case-insensitive search
    role                TEXT NOT NULL CHECK (role IN ('recruiter', 'candidate')),
    created_at          INTEGER NOT NULL
);

-- A login is a family of refresh tokens: rotation stays inside it, reuse revokes all of it.
CREATE TABLE logins (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,                    -- SHA-256 of the opaque token, never the token
    login_id   TEXT NOT NULL REFERENCES logins (id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_by_login ON refresh_tokens (login_id);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    title            TEXT,
    direct_key       TEXT UNIQUE,                   -- "smaller_id:larger_id" for direct ones
    last_seq         INTEGER NOT NULL DEFAULT 0,    -- advanced in the same transaction as the insert
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
);

CREATE TABLE members (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    read_seq        INTEGER NOT NULL DEFAULT 0,
    delivered_seq   INTEGER NOT NULL DEFAULT 0,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    sender_id       TEXT NOT NULL REFERENCES users (id),
    client_msg_id   TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_msg_id)
);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL,                       -- JSON
    read       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at);

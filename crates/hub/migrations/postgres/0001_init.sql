-- Rapport hub schema, version 1, for PostgreSQL: the tables of migrations/sqlite/0001_init.sql
-- with PostgreSQL's types. Times are milliseconds since the Unix epoch.
--
-- Ids and the folded display name compare byte by byte (COLLATE "C"), as SQLite compares text,
-- so that every ORDER BY gives the same order on both databases whatever collation the
-- operator's database was created with.

CREATE TABLE users (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    email               TEXT COLLATE "C" NOT NULL UNIQUE,  -- lower-cased
    password_hash       TEXT NOT NULL,                     -- argon2id PHC string
    display_name        TEXT NOT NULL,
    display_name_folded TEXT COLLATE "C" NOT NULL,         -- lower-cased, for case-insensitive search
    role                TEXT NOT NULL CHECK (role IN ('recruiter', 'candidate')),
    created_at          BIGINT NOT NULL
);

-- A login is a family of refresh tokens: rotation stays inside it, reuse revokes all of it.
CREATE TABLE logins (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,           -- SHA-256 of the opaque token, never the token
    login_id   TEXT COLLATE "C" NOT NULL REFERENCES logins (id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_by_login ON refresh_tokens (login_id);

CREATE TABLE conversations (
    id               TEXT COLLATE "C" PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    title            TEXT,
    direct_key       TEXT COLLATE "C" UNIQUE,          -- "smaller_id:larger_id" for direct ones
    last_seq         BIGINT NOT NULL DEFAULT 0,        -- advanced under this row's lock, in the insert's transaction
    created_at       BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL
);

CREATE TABLE members (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    read_seq        BIGINT NOT NULL DEFAULT 0,
    delivered_seq   BIGINT NOT NULL DEFAULT 0,
    joined_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE messages (
    id              TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    seq             BIGINT NOT NULL,
    sender_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    client_msg_id   TEXT COLLATE "C" NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_msg_id)
);

CREATE TABLE notifications (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       JSONB NOT NULL,
    read       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at);

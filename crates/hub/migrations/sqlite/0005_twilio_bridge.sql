-- Protocol 1.1, §5: the WhatsApp / SMS bridge through Twilio. A database of an earlier version
-- upgrades in place: nothing existing is rewritten.

-- The Twilio numbers recruiters receive on: a message to one of them goes to its owner.
CREATE TABLE twilio_numbers (
    number     TEXT PRIMARY KEY,                -- E.164
    owner_id   TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX twilio_numbers_by_owner ON twilio_numbers (owner_id, created_at);

-- Someone who wrote from a phone without an account. Each has a users row that cannot log in
-- (its password hash is no hash), so that their messages, membership and receipts are those of
-- any member; this row says it is a contact, and which number on which network.
CREATE TABLE bridge_contacts (
    user_id    TEXT PRIMARY KEY REFERENCES users (id),
    channel    TEXT NOT NULL CHECK (channel IN ('whatsapp', 'sms')),
    number     TEXT NOT NULL,                   -- E.164
    created_at INTEGER NOT NULL,
    UNIQUE (channel, number)
);

-- A recruiter's conversation with a contact: which Twilio number it runs through (replies go
-- out from it) and when the contact last wrote (WhatsApp's 24-hour window).
CREATE TABLE bridge_conversations (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id),
    contact_id      TEXT NOT NULL REFERENCES users (id),
    recruiter_id    TEXT NOT NULL REFERENCES users (id),
    twilio_number   TEXT NOT NULL,
    last_inbound_at INTEGER NOT NULL
);

-- Inbound messages already taken, by Twilio's MessageSid: Twilio retries a webhook it thinks
-- failed, and the same message must not appear twice.
CREATE TABLE twilio_inbound (
    message_sid TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES messages (id),
    created_at  INTEGER NOT NULL
);

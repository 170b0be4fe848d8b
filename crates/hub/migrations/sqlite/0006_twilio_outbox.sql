-- Protocol 1.1, §5: what recruiters send into a bridged conversation goes out through Twilio
-- from this outbox. A database of an earlier version upgrades in place.

-- One row per message to send. It is written by the trigger below in the transaction that
-- stores the message, so a message that is stored is sent, and one that is not is not. Hubs
-- claim due rows for a lease, as scheduled messages are claimed; Twilio's answer is recorded
-- at once (`twilio_sid`), so a row is sent once.
CREATE TABLE twilio_outbox (
    message_id      TEXT PRIMARY KEY REFERENCES messages (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    sender_id       TEXT NOT NULL REFERENCES users (id),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    done_at         INTEGER,                  -- accepted by Twilio, or given up on
    twilio_sid      TEXT UNIQUE,              -- Twilio's MessageSid once accepted
    failure         TEXT,                     -- why it was given up on (or Twilio's failed status)
    created_at      INTEGER NOT NULL
);
CREATE INDEX twilio_outbox_due ON twilio_outbox (next_attempt_at) WHERE done_at IS NULL;

-- A message of the recruiter in a conversation that runs over the bridge goes out.
CREATE TRIGGER twilio_outbox_enqueue AFTER INSERT ON messages
WHEN NEW.kind <> 'system'
 AND EXISTS (SELECT 1 FROM bridge_conversations bc WHERE bc.conversation_id = NEW.conversation_id AND bc.recruiter_id = NEW.sender_id)
BEGIN
    INSERT INTO twilio_outbox (message_id, conversation_id, sender_id, next_attempt_at, created_at)
    VALUES (NEW.id, NEW.conversation_id, NEW.sender_id, NEW.created_at, NEW.created_at);
END;

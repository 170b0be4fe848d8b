-- Protocol 1.1, §5: what recruiters send into a bridged conversation goes out through Twilio
-- from this outbox, as in migrations/sqlite/0006_twilio_outbox.sql. A database of an earlier
-- version upgrades in place.

-- One row per message to send. It is written by the trigger below in the transaction that
-- stores the message, so a message that is stored is sent, and one that is not is not. Hubs
-- claim due rows with `FOR UPDATE SKIP LOCKED` for a lease, as scheduled messages are claimed;
-- Twilio's answer is recorded at once (`twilio_sid`), so a row is sent once.
CREATE TABLE twilio_outbox (
    message_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES messages (id),
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id),
    sender_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    done_at         BIGINT,                   -- accepted by Twilio, or given up on
    twilio_sid      TEXT COLLATE "C" UNIQUE,  -- Twilio's MessageSid once accepted
    failure         TEXT,                     -- why it was given up on (or Twilio's failed status)
    created_at      BIGINT NOT NULL
);
CREATE INDEX twilio_outbox_due ON twilio_outbox (next_attempt_at) WHERE done_at IS NULL;

-- A message of the recruiter in a conversation that runs over the bridge goes out.
CREATE FUNCTION twilio_outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind <> 'system' AND EXISTS (
        SELECT 1 FROM bridge_conversations bc WHERE bc.conversation_id = NEW.conversation_id AND bc.recruiter_id = NEW.sender_id
    ) THEN
        INSERT INTO twilio_outbox (message_id, conversation_id, sender_id, next_attempt_at, created_at)
        VALUES (NEW.id, NEW.conversation_id, NEW.sender_id, NEW.created_at, NEW.created_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER twilio_outbox_enqueue AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION twilio_outbox_enqueue();

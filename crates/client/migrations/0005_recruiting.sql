-- Protocol 1.1, §3: a message's card (job or application status, as JSON) is cached with it
-- so that history shows cards offline, and a queued send keeps the card it will carry.
-- NULL for text messages, tombstones, and everything cached before (no hub sent cards then).
ALTER TABLE messages ADD COLUMN card TEXT;
ALTER TABLE outbox ADD COLUMN card TEXT;

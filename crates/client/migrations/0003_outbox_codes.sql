-- The engine now reads the outbox's `state` as its `MessageState` and `error` as its `Code` enum
-- (both were free text before). Every value earlier versions wrote is one of those names — a
-- failed entry's `error` was a protocol code from the hub (`not_found`, `body_too_long`, …) or,
-- for a `send --to EMAIL` that could not be resolved, the engine's own (`not_found`, `invalid`).
-- This makes it so for any other row too, so that one odd row can never make the whole outbox
-- unreadable: an unknown state counts as failed, a failure without a known reason as `invalid`.
UPDATE outbox SET state = 'failed' WHERE state NOT IN ('pending', 'failed');
UPDATE outbox SET error = NULL WHERE state = 'pending';
UPDATE outbox SET error = 'invalid'
WHERE state = 'failed' AND (error IS NULL OR error NOT IN (
    'offline', 'unauthorized', 'not_found', 'invalid', 'conflict', 'hub', 'timeout', 'io',
    'signed_out', 'update',
    'bad_frame', 'unknown_op', 'invalid_payload', 'body_empty', 'body_too_long', 'rate_limited',
    'invalid_credentials', 'invalid_refresh_token', 'email_taken', 'password_too_short',
    'method_not_allowed', 'payload_too_large', 'unavailable', 'internal'
));

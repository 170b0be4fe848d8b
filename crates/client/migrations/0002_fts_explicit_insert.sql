-- The FTS index is filled by `insert_messages` with one statement per batch instead of a trigger
-- per row: a statement whose trigger writes to an FTS5 table opens a statement savepoint, and
-- FTS5 writes its pending terms to disk as a new segment at every savepoint, so the trigger cost
-- one segment (and the merges that follow) per message — about 3/4 of a catch-up's CPU.
DROP TRIGGER messages_fts_insert;

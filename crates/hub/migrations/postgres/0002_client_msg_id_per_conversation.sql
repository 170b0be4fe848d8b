-- A client_msg_id is unique per sender within one conversation (as in SQLite's 0002). Version 1
-- made it unique per sender across all conversations, so reusing one in another conversation
-- answered with the first conversation's message and stored nothing.

ALTER TABLE messages DROP CONSTRAINT messages_sender_id_client_msg_id_key;
ALTER TABLE messages ADD CONSTRAINT messages_sender_id_conversation_id_client_msg_id_key
    UNIQUE (sender_id, conversation_id, client_msg_id);

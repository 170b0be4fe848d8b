-- Protocol 1.1, §5: a conversation with an outside contact who writes over WhatsApp or SMS
-- through the hub's Twilio bridge keeps the hub's `bridge` (JSON: channel, number, via), so
-- the list and the header can say so offline. NULL for every other conversation.
ALTER TABLE conversations ADD COLUMN bridge TEXT;

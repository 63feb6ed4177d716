-- Read receipts: how far each side has read a conversation. A table of its
-- own rather than columns on conversations: readers of conversations
-- (SELECT *) keep their shape, and a receipt write never locks the row that
-- serialises sequence numbers.
CREATE TABLE conversation_reads (
    conversation_id  bigint PRIMARY KEY REFERENCES conversations ON DELETE CASCADE,
    visitor_read_seq bigint NOT NULL DEFAULT 0 CHECK (visitor_read_seq >= 0),
    agent_read_seq   bigint NOT NULL DEFAULT 0 CHECK (agent_read_seq >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

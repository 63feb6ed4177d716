-- Reports: figures over the conversations started in a date range.
--
-- first_response_at is when an agent first answered the visitor (a message,
-- not an internal note; bots do not count). A trigger keeps it as agents
-- write, so a report reads one row per conversation rather than searching
-- every conversation's messages. Only an agent's first message writes the
-- row; later ones find it set and change nothing.
ALTER TABLE conversations ADD COLUMN first_response_at timestamptz;

CREATE FUNCTION conversation_first_response() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET first_response_at = NEW.created_at
        WHERE id = NEW.conversation_id AND first_response_at IS NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER messages_first_response AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.author_type = 'agent' AND NOT NEW.internal)
    EXECUTE FUNCTION conversation_first_response();

-- Conversations answered before this migration.
UPDATE conversations c SET first_response_at = m.at
    FROM (SELECT conversation_id, min(created_at) AS at FROM messages
          WHERE author_type = 'agent' AND NOT internal GROUP BY conversation_id) m
    WHERE m.conversation_id = c.id;

-- A report reads the conversations an account (or one inbox) started in a range.
CREATE INDEX conversations_started ON conversations (account_id, created_at);
CREATE INDEX conversations_inbox_started ON conversations (inbox_id, created_at);

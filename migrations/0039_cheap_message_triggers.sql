-- The push and webhook triggers on every stored message and conversation,
-- made cheap: once per statement instead of once per row (a group-commit
-- batch stores hundreds of messages in one INSERT), and a single indexed
-- look-up when no push webhook or account webhook exists. Before, every
-- message ran two row triggers and every conversation insert or
-- assignment one, each planning webhook_enqueue's INSERT anew (an SQL
-- function's statement is planned on every call) even for accounts
-- without webhooks. What they queue is unchanged.

DROP TRIGGER messages_push ON messages;
DROP TRIGGER messages_webhook ON messages;
DROP TRIGGER conversations_webhook_insert ON conversations;
DROP TRIGGER conversations_webhook_update ON conversations;

-- One waiting push call per conversation, joined by the burst's later
-- messages (as push_enqueue did row by row).
CREATE FUNCTION push_enqueue_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM push_webhooks) THEN
        RETURN NULL;
    END IF;
    INSERT INTO push_queue (account_id, conversation_id, visitor_id, first_seq, last_seq, messages)
    SELECT c.account_id, c.id, c.visitor_id, min(n.seq), max(n.seq), count(*)
    FROM added n
    JOIN conversations c ON c.id = n.conversation_id
    JOIN push_tokens p ON p.visitor_id = c.visitor_id
    JOIN push_webhooks w ON w.account_id = c.account_id
    WHERE NOT n.internal AND n.author_type IN ('agent', 'bot')
    GROUP BY c.account_id, c.id, c.visitor_id
    ON CONFLICT (conversation_id) WHERE done_at IS NULL DO UPDATE
        SET last_seq = greatest(push_queue.last_seq, EXCLUDED.last_seq), messages = push_queue.messages + EXCLUDED.messages;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_push AFTER INSERT ON messages REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION push_enqueue_added();

-- Agents' internal notes stay inside Parley.
CREATE FUNCTION webhook_messages_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, event, payload)
    SELECT w.id, 'message.created', jsonb_build_object('event', 'message.created', 'account', a.public_id, 'at', now(),
        'data', jsonb_build_object('conversation_id', c.id, 'conversation', c.public_id, 'seq', n.seq,
            'author_type', n.author_type, 'author_id', n.author_id, 'text', n.body, 'created_at', n.created_at))
    FROM added n
    JOIN conversations c ON c.id = n.conversation_id
    JOIN webhooks w ON w.account_id = c.account_id AND w.enabled AND 'message.created' = ANY (w.events)
    JOIN accounts a ON a.id = c.account_id
    WHERE NOT n.internal
    ORDER BY n.conversation_id, n.seq, w.id;
    RETURN NULL;
END $$;
CREATE TRIGGER messages_webhook AFTER INSERT ON messages REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_messages_added();

CREATE FUNCTION webhook_conversations_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, event, payload)
    SELECT w.id, 'conversation.created', jsonb_build_object('event', 'conversation.created', 'account', a.public_id, 'at', now(),
        'data', jsonb_build_object('conversation_id', n.id, 'conversation', n.public_id, 'inbox_id', n.inbox_id,
            'status', n.status, 'assignee_id', n.assignee_id, 'team_id', n.team_id, 'created_at', n.created_at,
            'closed_at', n.closed_at))
    FROM added n
    JOIN webhooks w ON w.account_id = n.account_id AND w.enabled AND 'conversation.created' = ANY (w.events)
    JOIN accounts a ON a.id = n.account_id
    ORDER BY n.id, w.id;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_webhook_insert AFTER INSERT ON conversations REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_conversations_added();

-- Updates stay row by row (a trigger on named columns takes no transition
-- table), called only when one of the reported columns really changed,
-- and they return at once for an account without webhooks.
CREATE OR REPLACE FUNCTION webhook_conversations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.account_id = NEW.account_id AND w.enabled) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.created', webhook_conversation_data(NEW));
        RETURN NEW;
    END IF;
    IF NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed' THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.closed', webhook_conversation_data(NEW));
    END IF;
    IF (NEW.assignee_id IS NOT NULL AND NEW.assignee_id IS DISTINCT FROM OLD.assignee_id)
        OR (NEW.assignee_id IS NULL AND NEW.team_id IS NOT NULL AND NEW.team_id IS DISTINCT FROM OLD.team_id) THEN
        PERFORM webhook_enqueue(NEW.account_id, 'conversation.assigned', webhook_conversation_data(NEW));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER conversations_webhook_update AFTER UPDATE OF status, assignee_id, team_id ON conversations
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
        OR OLD.team_id IS DISTINCT FROM NEW.team_id)
    EXECUTE FUNCTION webhook_conversations();

DROP FUNCTION push_enqueue();
DROP FUNCTION webhook_messages();

-- Account webhooks: signed POSTs of conversation and message events to the
-- account's servers. Deliveries wait in webhook_deliveries, written by
-- triggers in the same transaction as the change they report, and are
-- retried with backoff; a webhook whose calls keep failing is switched off.

CREATE TABLE webhooks (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    url                  text NOT NULL,
    secret               text NOT NULL,
    events               text[] NOT NULL,
    enabled              boolean NOT NULL DEFAULT true,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_reason      text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_account ON webhooks (account_id);

CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    webhook_id      bigint NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event           text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer NOT NULL DEFAULT 0, -- the receiver's last HTTP status; 0: no answer
    last_error      text NOT NULL DEFAULT '',
    last_attempt_at timestamptz,
    -- pending until the receiver takes it (delivered) or refuses it for
    -- good with a 4xx (failed); a switched-off webhook's stay pending.
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    done_at         timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id DESC);

-- webhook_enqueue queues one delivery of event for every enabled webhook
-- of account that asked for it.
CREATE FUNCTION webhook_enqueue(account bigint, event text, data jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO webhook_deliveries (webhook_id, event, payload)
    SELECT w.id, event, jsonb_build_object('event', event, 'account', a.public_id, 'at', now(), 'data', data)
    FROM webhooks w JOIN accounts a ON a.id = w.account_id
    WHERE w.account_id = account AND w.enabled AND event = ANY (w.events);
$$;

CREATE FUNCTION webhook_conversation_data(c conversations) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('conversation_id', c.id, 'conversation', c.public_id, 'inbox_id', c.inbox_id,
        'status', c.status, 'assignee_id', c.assignee_id, 'team_id', c.team_id, 'created_at', c.created_at,
        'closed_at', c.closed_at);
$$;

CREATE FUNCTION webhook_conversations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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
CREATE TRIGGER conversations_webhook_insert AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION webhook_conversations();
CREATE TRIGGER conversations_webhook_update AFTER UPDATE OF status, assignee_id, team_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION webhook_conversations();

-- Agents' internal notes stay inside Parley.
CREATE FUNCTION webhook_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.internal THEN
        RETURN NEW;
    END IF;
    PERFORM webhook_enqueue(c.account_id, 'message.created', jsonb_build_object('conversation_id', c.id,
        'conversation', c.public_id, 'seq', NEW.seq, 'author_type', NEW.author_type, 'author_id', NEW.author_id,
        'text', NEW.body, 'created_at', NEW.created_at))
    FROM conversations c WHERE c.id = NEW.conversation_id;
    RETURN NEW;
END $$;
CREATE TRIGGER messages_webhook AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION webhook_messages();

CREATE FUNCTION webhook_survey_responses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_enqueue(c.account_id, 'survey.answered', jsonb_build_object('conversation_id', c.id,
        'conversation', c.public_id, 'survey_id', NEW.survey_id, 'score', NEW.score, 'comment', NEW.comment,
        'created_at', NEW.created_at))
    FROM conversations c WHERE c.id = NEW.conversation_id;
    RETURN NEW;
END $$;
CREATE TRIGGER survey_responses_webhook AFTER INSERT ON survey_responses
    FOR EACH ROW EXECUTE FUNCTION webhook_survey_responses();

-- Push notifications for app visitors: an account's push webhook, each app
-- visitor's device push token, and the queue of webhook calls. When an
-- agent or bot message is stored for a visitor with a push token, the
-- conversation gets one waiting call (a later message of the same burst
-- joins it); the push job calls the webhook once the burst has settled,
-- unless the visitor's app is connected then, retrying with backoff.

CREATE TABLE push_webhooks (
    account_id bigint PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
    url        text NOT NULL,
    secret     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One token per visitor: a visitor token is one app install on one device.
CREATE TABLE push_tokens (
    visitor_id bigint PRIMARY KEY REFERENCES visitors ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    platform   text NOT NULL CHECK (platform IN ('apns', 'fcm')),
    token      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE push_queue (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    visitor_id      bigint NOT NULL REFERENCES visitors ON DELETE CASCADE,
    first_seq       bigint NOT NULL,
    last_seq        bigint NOT NULL,
    messages        integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    -- sent: the webhook took it; skipped: the app was connected, or the
    -- token or webhook is gone; failed: given up after the last attempt.
    outcome         text CHECK (outcome IN ('sent', 'skipped', 'failed')),
    done_at         timestamptz
);
CREATE UNIQUE INDEX push_queue_waiting ON push_queue (conversation_id) WHERE done_at IS NULL;
CREATE INDEX push_queue_due ON push_queue (next_attempt_at) WHERE done_at IS NULL;

-- Every path that stores a message goes through this trigger, so no agent
-- or bot message (inbox, REST, email reply, bot) can miss its push.
CREATE FUNCTION push_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.internal OR NEW.author_type NOT IN ('agent', 'bot') THEN
        RETURN NEW;
    END IF;
    INSERT INTO push_queue (account_id, conversation_id, visitor_id, first_seq, last_seq)
    SELECT c.account_id, c.id, c.visitor_id, NEW.seq, NEW.seq
    FROM conversations c
    JOIN push_tokens p ON p.visitor_id = c.visitor_id
    JOIN push_webhooks w ON w.account_id = c.account_id
    WHERE c.id = NEW.conversation_id
    ON CONFLICT (conversation_id) WHERE done_at IS NULL DO UPDATE
        SET last_seq = greatest(push_queue.last_seq, EXCLUDED.last_seq), messages = push_queue.messages + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER messages_push AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION push_enqueue();

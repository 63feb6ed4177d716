-- Email: a durable outbox, what each conversation has been mailed, and the
-- account's sender settings.

-- What emails say they are from: "<sender name> <MAIL_FROM>", replies to
-- reply+<token>@<reply domain> (empty: no reply address, replies are not offered).
ALTER TABLE accounts
    ADD COLUMN mail_sender_name  text NOT NULL DEFAULT '',
    ADD COLUMN mail_reply_domain text NOT NULL DEFAULT '';

-- The key that signs resume links and reply addresses; one per database so
-- every backend checks what another signed. Random at migration time.
CREATE TABLE mail_keys (
    id     integer PRIMARY KEY CHECK (id = 1),
    secret bytea NOT NULL
);
INSERT INTO mail_keys (id, secret) VALUES (1,
    decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- Every email Parley sends is a row here, written in the transaction that
-- decided to send it, rendered in full. Senders on every backend claim due
-- rows with FOR UPDATE SKIP LOCKED; message_id is fixed at insert, so a
-- retry is the same email.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    account_id      bigint REFERENCES accounts ON DELETE CASCADE,
    conversation_id bigint REFERENCES conversations ON DELETE SET NULL,
    kind            text NOT NULL,      -- reply, offline, transcript, agent, password, invitation
    dedupe_key      text UNIQUE,        -- at most one row per key (e.g. offline:<conversation>)
    message_id      text NOT NULL UNIQUE,
    recipient       text NOT NULL,
    from_name       text NOT NULL DEFAULT '',
    reply_to        text NOT NULL DEFAULT '',
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    sent_at         timestamptz,
    failed_at       timestamptz,        -- gave up (permanent refusal or too many attempts)
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_recipient ON outbox (lower(recipient), created_at);

-- Conversations with email to decide on, marked by the statement that
-- caused it: 'reply' by the one storing the first agent reply of a burst
-- (handled once the visitor has left it unread for MAIL_REPLY_DELAY),
-- 'close' by the one closing the conversation (the transcript at close).
-- The mail job deletes the mark in the transaction that writes the email.
CREATE TABLE mail_due (
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('reply', 'close')),
    since           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, kind)
);
CREATE INDEX mail_due_since ON mail_due (kind, since);

-- How far each conversation has been mailed to its visitor.
CREATE TABLE conversation_mail (
    conversation_id bigint PRIMARY KEY REFERENCES conversations ON DELETE CASCADE,
    mailed_seq      bigint NOT NULL DEFAULT 0
);

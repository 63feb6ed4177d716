-- The agents' day (issue 6): API-key roles, sign-in throttling, saved
-- replies, attachments, satisfaction surveys and full-text search.
-- No new column on users, conversations or messages: their readers use
-- SELECT * into fixed structs, so everything new is a table of its own.

-- An API key acts with a role like a user does: only admin and editor keys
-- may change chatflows. Existing keys were account-wide, so they stay admin.
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin'
    CHECK (role IN ('admin', 'editor', 'agent'));

-- Failed sign-ins, by lower-cased email and by client address; a sign-in
-- is refused while either has too many recent failures. Old rows are swept
-- on every failure.
CREATE TABLE login_failures (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    ip         text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (email, created_at);
CREATE INDEX login_failures_ip ON login_failures (ip, created_at);

-- Saved replies: canned text an agent inserts by its shortcut ("/refund").
CREATE TABLE saved_replies (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    shortcut   text NOT NULL CHECK (shortcut ~ '^[a-z0-9_-]{1,32}$'),
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, shortcut)
);

-- Files sent in a conversation. Stored in the database (bytea) rather than
-- on disk: backends stay stateless with nothing to share between them,
-- backups and erasure (ON DELETE CASCADE) cover files too, and the upload
-- limit keeps rows small. public_id is an unguessable handle; every
-- download still checks who asks.
CREATE TABLE attachments (
    id              bigserial PRIMARY KEY,
    public_id       text NOT NULL UNIQUE,
    account_id      bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    -- The message carrying the file has this client id. The file is
    -- written before its message, so no reader ever sees the message
    -- without its file; a retry finds both by the client id.
    client_id       text NOT NULL,
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size            bigint NOT NULL CHECK (size >= 0),
    data            bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, client_id)
);

-- Satisfaction surveys (SPEC 1.8): the question and its scale; a chatflow
-- links one by id in options.survey_id.
CREATE TABLE surveys (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name          text NOT NULL,
    delivery      text NOT NULL DEFAULT 'chat' CHECK (delivery IN ('chat', 'email')),
    question      text NOT NULL,
    scale         text NOT NULL DEFAULT 'numeric' CHECK (scale IN ('numeric', 'emoji')),
    allow_comment boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

-- One answer per conversation; the score is 1-5 on either scale.
CREATE TABLE survey_responses (
    id              bigserial PRIMARY KEY,
    survey_id       bigint NOT NULL REFERENCES surveys ON DELETE CASCADE,
    conversation_id bigint NOT NULL UNIQUE REFERENCES conversations ON DELETE CASCADE,
    score           integer NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX survey_responses_survey ON survey_responses (survey_id, id DESC);

-- Inbox search: message text by full text ('simple': no language's
-- stemming, so names and codes match as typed), visitor names and contact
-- names and emails by the same.
CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', body));
CREATE INDEX contacts_search ON contacts USING gin (to_tsvector('simple', name || ' ' || email));
CREATE INDEX visitors_search ON visitors USING gin (to_tsvector('simple', name));

-- Views: mine (assignee) and closed, newest activity first.
CREATE INDEX conversations_assignee_activity ON conversations (assignee_id, status, last_message_at DESC)
    WHERE assignee_id IS NOT NULL;

-- Email for agents: what they want to hear of, what waits to be told, which
-- of them have an inbox page open, and password-reset links.

-- What an agent wants: off, instant (an email as things happen) or hourly
-- (one digest an hour); no row is instant.
CREATE TABLE agent_mail_prefs (
    user_id    bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    notify     text NOT NULL DEFAULT 'instant' CHECK (notify IN ('off', 'instant', 'hourly')),
    last_sent  timestamptz              -- the last notification email, for the hourly digest
);

-- News for an agent, written by the transaction that made it (an
-- assignment) or by the mail job's decision (a message in their chat, an
-- unassigned chat that waited); the job mails or drops it.
CREATE TABLE agent_news (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('assigned', 'message', 'waiting')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_news_user ON agent_news (user_id, id);
-- One "waited too long" per agent and conversation, ever.
CREATE TABLE agent_waiting_told (
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    PRIMARY KEY (user_id, conversation_id)
);
-- How far each agent was told about visitor messages in their chats.
CREATE TABLE agent_message_told (
    conversation_id bigint PRIMARY KEY REFERENCES conversations ON DELETE CASCADE,
    told_seq        bigint NOT NULL DEFAULT 0
);

-- Agents with an inbox page open: each backend refreshes its rows while
-- the agent's live socket is open; a row older than a minute is stale.
CREATE TABLE inbox_presence (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    backend text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, backend)
);

-- "Forgot password": one-time links, kept hashed.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_user ON password_resets (user_id);
-- Requests per address, found or not, for the throttle.
CREATE TABLE password_reset_requests (
    email      text NOT NULL,
    address    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_email ON password_reset_requests (lower(email), created_at);
CREATE INDEX password_reset_requests_address ON password_reset_requests (address, created_at);

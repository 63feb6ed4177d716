-- Core schema: accounts, people, inboxes, chatflows, visitors, conversations,
-- messages and tickets. Times are timestamptz and written in UTC.

CREATE TABLE accounts (
    id             bigserial PRIMARY KEY,
    public_id      text NOT NULL UNIQUE,          -- the site key in the script tag
    name           text NOT NULL,
    company_name   text NOT NULL DEFAULT '',
    company_domain text NOT NULL DEFAULT '',
    timezone       text NOT NULL DEFAULT 'UTC',   -- IANA zone for office hours
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,                   -- first characters, to tell keys apart
    key_hash     bytea NOT NULL UNIQUE,           -- sha256 of the secret
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

CREATE TABLE users (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    email            text NOT NULL,
    name             text NOT NULL,
    password_hash    text NOT NULL DEFAULT '',
    role             text NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'editor', 'agent')),
    has_seat         boolean NOT NULL DEFAULT false,
    status           text NOT NULL DEFAULT 'offline' CHECK (status IN ('available', 'away', 'offline')),
    max_open_chats   integer NOT NULL DEFAULT 5 CHECK (max_open_chats >= 0),
    avatar_url       text NOT NULL DEFAULT '',
    last_assigned_at timestamptz,                 -- ties go to the one idle longest
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (account_id, lower(email));
CREATE UNIQUE INDEX users_login ON users (lower(email)) WHERE password_hash <> '';

CREATE TABLE teams (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

CREATE TABLE team_members (
    team_id bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE inboxes (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name             text NOT NULL,
    has_chat_channel boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

-- Agents see only the inboxes they are members of.
CREATE TABLE inbox_members (
    inbox_id bigint NOT NULL REFERENCES inboxes ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, user_id)
);

CREATE TABLE chatflows (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    public_id  text NOT NULL UNIQUE,
    name       text NOT NULL,
    channel    text NOT NULL CHECK (channel IN ('website', 'mobile')),
    inbox_id   bigint NOT NULL REFERENCES inboxes,
    language   text NOT NULL DEFAULT 'en',
    type       text NOT NULL CHECK (type IN ('live_agent', 'customer_agent', 'rule_bot')),
    enabled    boolean NOT NULL DEFAULT false,
    priority   integer NOT NULL DEFAULT 0,
    mobile_tag text NOT NULL DEFAULT '',
    settings   jsonb NOT NULL DEFAULT '{}',   -- look, welcome, availability, assignment, display, targeting, options
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (channel <> 'mobile' OR mobile_tag <> '')
);
CREATE INDEX chatflows_account ON chatflows (account_id);
CREATE INDEX chatflows_mobile_tag ON chatflows (account_id, mobile_tag) WHERE channel = 'mobile';

-- Signed-in agent sessions; the cookie holds the secret, the table its hash.
CREATE TABLE user_sessions (
    id_hash    bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE TABLE contacts (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    email      text NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    properties jsonb NOT NULL DEFAULT '{}',
    marketing  boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contacts_email ON contacts (account_id, lower(email)) WHERE email <> '';

-- A visitor is a browser (or app install) holding a random token; only its hash is kept.
CREATE TABLE visitors (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    contact_id   bigint REFERENCES contacts ON DELETE SET NULL,
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    public_id       text NOT NULL UNIQUE,
    chatflow_id     bigint REFERENCES chatflows ON DELETE SET NULL,
    inbox_id        bigint NOT NULL REFERENCES inboxes,
    visitor_id      bigint NOT NULL REFERENCES visitors ON DELETE CASCADE,
    contact_id      bigint REFERENCES contacts ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    assignee_id     bigint REFERENCES users ON DELETE SET NULL,
    team_id         bigint REFERENCES teams ON DELETE SET NULL,
    last_seq        bigint NOT NULL DEFAULT 0,
    page_url        text NOT NULL DEFAULT '',
    referrer        text NOT NULL DEFAULT '',
    user_agent      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE INDEX conversations_inbox ON conversations (inbox_id, status, last_message_at DESC);
CREATE INDEX conversations_assignee ON conversations (assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX conversations_visitor ON conversations (visitor_id);

-- Every event in a conversation has a sequence number; client ids make writes idempotent.
CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    seq             bigint NOT NULL,
    client_id       text,
    author_type     text NOT NULL CHECK (author_type IN ('visitor', 'agent', 'bot', 'system')),
    author_id       bigint,
    internal        boolean NOT NULL DEFAULT false,   -- an agents' note, never sent to the visitor
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_id)
);

CREATE TABLE tickets (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    conversation_id bigint UNIQUE REFERENCES conversations ON DELETE CASCADE,
    subject         text NOT NULL DEFAULT '',
    pipeline        text NOT NULL DEFAULT 'support',
    status          text NOT NULL DEFAULT 'new',
    priority        text NOT NULL DEFAULT 'medium',
    category        text NOT NULL DEFAULT '',
    properties      jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE INDEX tickets_account ON tickets (account_id, status);

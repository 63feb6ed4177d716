-- Bots at run time (issue 7): where each conversation is in its bot, and
-- what a bot message carries beyond its text. Messages and conversations
-- keep their shape (readers use SELECT *): both are tables of their own.

-- One row per conversation a bot (a rule bot or the customer agent) runs
-- in. active is true until a human takes over or the flow ends: routing
-- leaves active conversations alone. state is the bot's own JSON (a rule
-- bot's bot.State; the customer agent's count of unanswered questions).
-- The row survives reconnects and backend restarts; it goes with its
-- conversation.
CREATE TABLE bot_states (
    conversation_id bigint PRIMARY KEY REFERENCES conversations ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('rule_bot', 'customer_agent')),
    bot_id          bigint REFERENCES bots ON DELETE SET NULL,
    active          boolean NOT NULL DEFAULT true,
    state           jsonb NOT NULL DEFAULT '{}',
    -- Answers saved to the contact before the visitor had one; written to
    -- the contact as soon as there is one (or at the hand-over).
    pending_contact jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_states_active ON bot_states (conversation_id) WHERE active;

-- Quick replies offered with a bot message, and the help article a
-- customer agent's answer links to (a path on the edge).
CREATE TABLE bot_messages (
    message_id      bigint PRIMARY KEY REFERENCES messages ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    quick_replies   jsonb NOT NULL DEFAULT '[]',
    link            text NOT NULL DEFAULT '',
    link_title      text NOT NULL DEFAULT ''
);
CREATE INDEX bot_messages_conversation ON bot_messages (conversation_id);

-- Labels: names with a colour that an account defines and its agents put on
-- conversations, to sort the list and find conversations by them.
CREATE TABLE labels (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name       text NOT NULL,
    color      text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One label per name and account, whatever the case ("VIP" and "vip").
CREATE UNIQUE INDEX labels_name ON labels (account_id, lower(name));

-- The labels on each conversation; the store only pairs a conversation with
-- a label of the same account.
CREATE TABLE conversation_labels (
    conversation_id bigint NOT NULL REFERENCES conversations ON DELETE CASCADE,
    label_id        bigint NOT NULL REFERENCES labels ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, label_id)
);
-- The list filtered by a label.
CREATE INDEX conversation_labels_label ON conversation_labels (label_id, conversation_id);

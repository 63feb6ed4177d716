-- Unsaved chatflow settings the console's live preview shows: the editor
-- posts its form, the backend validates it through REST without saving and
-- keeps the result here under a random id for the person's preview frames
-- (any backend may serve them). Rows live for an hour.
CREATE TABLE chatflow_drafts (
    id          text PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    chatflow_id bigint NOT NULL REFERENCES chatflows ON DELETE CASCADE,
    document    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chatflow_drafts_user ON chatflow_drafts (user_id, created_at);

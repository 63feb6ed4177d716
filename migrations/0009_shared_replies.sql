-- Saved replies become personal or shared with the account's agents.
-- owner_id set: personal, only that user sees and uses it; it goes with
-- them (CASCADE). author_id: who wrote it, who may edit it besides admins
-- when shared; a shared reply outlives its author (SET NULL).
-- Rows from before had no author and every agent of the account saw them,
-- so they stay shared (owner_id NULL); with no author, admins change them.
ALTER TABLE saved_replies
    ADD COLUMN owner_id  bigint REFERENCES users ON DELETE CASCADE,
    ADD COLUMN author_id bigint REFERENCES users ON DELETE SET NULL;

-- A shortcut is unique among what one agent sees of a kind: the account's
-- shared replies, and each agent's personal ones. A personal reply may
-- reuse a shared shortcut; for its owner the personal one comes first.
ALTER TABLE saved_replies DROP CONSTRAINT saved_replies_account_id_shortcut_key;
CREATE UNIQUE INDEX saved_replies_shared_shortcut ON saved_replies (account_id, shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX saved_replies_personal_shortcut ON saved_replies (owner_id, shortcut) WHERE owner_id IS NOT NULL;

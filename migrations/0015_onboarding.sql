-- First-run setup and invitations. Both keep only a hash of their secret.
--
-- A backend that starts on a database without accounts adds a setup token
-- and logs its URL; any backend accepts any of them, and creating the first
-- account deletes them all.
CREATE TABLE setup_tokens (
	token_hash bytea PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- An invited user (made without a password) sets their password through a
-- one-time link. One live invitation per user: a new one replaces the old.
CREATE TABLE user_invitations (
	token_hash bytea PRIMARY KEY,
	user_id    bigint NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

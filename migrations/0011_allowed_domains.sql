-- The host names where an account's chat may run (exact names and
-- "*.example.com" wildcards, normalized by widget/origins). No rows: every
-- origin is allowed. A table of its own rather than a column on accounts,
-- so readers of accounts are untouched.
CREATE TABLE account_domains (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	position   integer NOT NULL,
	domain     text NOT NULL,
	PRIMARY KEY (account_id, domain)
);

-- The page origins each account's widget was last loaded on, as the edges
-- report them from the site config fetches they answer: the install page
-- shows an owner the tag is live. The backend keeps the most recent few
-- per account.
CREATE TABLE site_origins (
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    origin     text NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (account_id, origin)
);

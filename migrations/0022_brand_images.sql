-- Brand images an account uploads for its chatflows' headings, addressed by
-- the SHA-256 of their bytes: the same file uploaded again is the same
-- image, and an address never shows other bytes, so every cache may keep
-- it for good.
CREATE TABLE brand_images (
    account_id   bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif')),
    size         integer NOT NULL CHECK (size > 0),
    width        integer NOT NULL,
    height       integer NOT NULL,
    frames       integer NOT NULL DEFAULT 1, -- more than one: an animated GIF
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, sha256)
);

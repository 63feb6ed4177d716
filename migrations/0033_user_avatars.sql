-- An agent's avatar may be an image uploaded to the account's image store
-- (brand_images): the widget then shows it from the edge, which serves it
-- cross-origin under the site's own address. Empty: none (avatar_url, a
-- URL elsewhere, is used when set).
ALTER TABLE users ADD COLUMN avatar_image_id text NOT NULL DEFAULT ''
    CHECK (avatar_image_id = '' OR avatar_image_id ~ '^[0-9a-f]{64}$');

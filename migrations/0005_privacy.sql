-- Privacy (SPEC 1.8, 1.10): subscription types and the contacts' choices,
-- consent records, and visitor-identification tokens. Contacts keep their
-- shape (readers use SELECT *): the marketing flag and properties are
-- already columns of contacts.

-- What a contact may subscribe to through the communication-consent checkbox.
CREATE TABLE subscription_types (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

-- A contact's current choice per subscription type; the history is in consents.
CREATE TABLE contact_subscriptions (
    contact_id           bigint NOT NULL REFERENCES contacts ON DELETE CASCADE,
    subscription_type_id bigint NOT NULL REFERENCES subscription_types ON DELETE CASCADE,
    status               text NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),
    conversation_id      bigint REFERENCES conversations ON DELETE SET NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, subscription_type_id)
);
CREATE INDEX contact_subscriptions_type ON contact_subscriptions (subscription_type_id);

-- Every consent given or refused, with the exact text shown. A refused
-- cookie banner has no visitor (nothing identifying is stored before consent).
-- Erasing a contact deletes its records (contact and visitor cascade); a
-- record outlives a deleted chatflow or subscription type.
CREATE TABLE consents (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    visitor_id           bigint REFERENCES visitors ON DELETE CASCADE,
    contact_id           bigint REFERENCES contacts ON DELETE CASCADE,
    chatflow_id          bigint REFERENCES chatflows ON DELETE SET NULL,
    conversation_id      bigint REFERENCES conversations ON DELETE CASCADE,
    subscription_type_id bigint REFERENCES subscription_types ON DELETE SET NULL,
    kind                 text NOT NULL CHECK (kind IN ('cookie', 'data_processing', 'communication')),
    basis                text NOT NULL DEFAULT '' CHECK (basis IN ('', 'explicit', 'legitimate_interest')),
    decision             text NOT NULL CHECK (decision IN ('granted', 'refused')),
    text                 text NOT NULL,                 -- exactly as shown
    text_hash            text NOT NULL,                 -- sha256 hex of text
    language             text NOT NULL DEFAULT '',
    page_url             text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_account_page ON consents (account_id, id DESC);
CREATE INDEX consents_contact ON consents (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX consents_visitor ON consents (visitor_id) WHERE visitor_id IS NOT NULL;
CREATE INDEX consents_conversation ON consents (conversation_id) WHERE conversation_id IS NOT NULL;

-- Identification tokens the site's server asks for; only the hash is kept.
-- A token is bound to its account and contact (and so to the email).
CREATE TABLE identification_tokens (
    token_hash bytea PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    contact_id bigint NOT NULL REFERENCES contacts ON DELETE CASCADE,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX identification_tokens_contact ON identification_tokens (contact_id);
CREATE INDEX identification_tokens_expiry ON identification_tokens (expires_at);

-- The chatflow a contact first chatted through (its first identified
-- hello): "created by" that chatflow, and marked a marketing contact when
-- the chatflow's marketing_contacts option was on then.
ALTER TABLE contacts ADD COLUMN source_chatflow_id bigint REFERENCES chatflows ON DELETE SET NULL;
ALTER TABLE contacts ADD COLUMN sourced_at timestamptz;
CREATE INDEX contacts_marketing ON contacts (account_id, id) WHERE marketing;

-- A contact's export and erasure look for its visitors by contact_id,
-- which read every visitor (and, through them, every conversation and
-- consent record) of the account. Only identified visitors have one, and
-- only they get an entry here.
CREATE INDEX visitors_contact ON visitors (contact_id) WHERE contact_id IS NOT NULL;

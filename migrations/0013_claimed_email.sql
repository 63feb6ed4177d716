-- An address typed into a chat (email capture, a bot's question) is the
-- visitor's unverified claim: it is kept on the visitor and on its
-- conversations, never as a link to a contact, so it cannot merge with,
-- read or change an existing contact. Only identification (a token from
-- the visitor-identification API) links a visitor to a contact.
-- Not indexed: conversation updates stay HOT (0008); the inbox's search
-- reads it beside the other per-conversation text it scans.
ALTER TABLE visitors ADD COLUMN claimed_email text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN claimed_email text NOT NULL DEFAULT '';

-- Whether the contact's address was proven by identification. Contacts made
-- before this by a typed address are not; identified ones are known only by
-- an identification token still on file, the others become verified at
-- their next identification (an underestimate, never an overstatement).
ALTER TABLE contacts ADD COLUMN verified boolean NOT NULL DEFAULT false;
UPDATE contacts SET verified = true WHERE id IN (SELECT contact_id FROM identification_tokens);

-- Fewer indexes on conversations. An assignment changes assignee_id and a
-- message moves last_message_at (both indexed), so neither update is HOT:
-- each writes a new entry into every index of the table. Two of them
-- served queries another index serves as well:
--
-- conversations_assignee (assignee_id, status) is the prefix of
-- conversations_assignee_activity (assignee_id, status, last_message_at)
-- under the same predicate: routing's open-chat counts and the "mine" view
-- read that one.
DROP INDEX conversations_assignee;

-- conversations_inbox_started (inbox_id, created_at): a report of one inbox
-- reads the account's range (conversations_started) and keeps that inbox's
-- rows, a few milliseconds more for a week of 100,000 conversations.
DROP INDEX conversations_inbox_started;

-- The side panel's earlier conversations of a visitor or their contact
-- (and adopting a contact's open conversation in a new browser) looked for
-- contact_id by reading every conversation of the account. Only
-- conversations of identified visitors have one, and only they get an
-- entry here.
CREATE INDEX conversations_contact ON conversations (contact_id) WHERE contact_id IS NOT NULL;

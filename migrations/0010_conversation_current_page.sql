-- The page the visitor is on now, for the agents' side panel: written when a
-- page load resumes an open conversation from another page (never per
-- message). page_url stays the page the conversation started on; '' here
-- means the visitor has not moved since. Only http(s) URLs are stored.
-- store.Conversation has the field, so readers using SELECT * keep working.
-- Not indexed: the update stays HOT (0008).
ALTER TABLE conversations ADD COLUMN current_page_url text NOT NULL DEFAULT '';

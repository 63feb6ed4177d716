-- The confirmation of a message left while nobody could answer is marked
-- in mail_due by the transaction that stores the message (or the address
-- that arrives after it), like the replies and the transcript at close:
-- the mail job writes the email from the mark, and nothing due is lost.
ALTER TABLE mail_due DROP CONSTRAINT mail_due_kind_check;
ALTER TABLE mail_due ADD CONSTRAINT mail_due_kind_check CHECK (kind IN ('reply', 'close', 'offline'));

-- The numbers beside the inbox's views from counts the database keeps,
-- instead of a scan of every conversation of the account on each read.
--
-- conversation_counts holds how many conversations of an account share an
-- inbox, a status and an assignee (0: nobody). Every change to a
-- conversation appends what it adds and takes away to
-- conversation_count_deltas from the statement that makes it; the
-- triggers only insert, so a burst of new conversations never waits on a
-- shared count row. A read folds the account's deltas into its counts
-- (store.ConversationCounts, under advisory lock class 7443) and adds the
-- deltas it did not fold, the way migration 0042 keeps report totals.

CREATE TABLE conversation_counts (
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    inbox_id    bigint NOT NULL,
    status      text NOT NULL,
    assignee_id bigint NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (account_id, inbox_id, status, assignee_id)
);

-- Changes not yet folded in; no foreign key, so that deleting an account
-- (and with it its conversations) never trips over it.
CREATE TABLE conversation_count_deltas (
    account_id  bigint NOT NULL,
    inbox_id    bigint NOT NULL,
    status      text NOT NULL,
    assignee_id bigint NOT NULL,
    n           integer NOT NULL
);
CREATE INDEX conversation_count_deltas_account ON conversation_count_deltas (account_id, inbox_id);

-- New and deleted conversations, once per statement (a creation batch is
-- one INSERT: one delta row per inbox, status and assignee it adds to).
CREATE FUNCTION conversation_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_count_deltas (account_id, inbox_id, status, assignee_id, n)
    SELECT account_id, inbox_id, status, COALESCE(assignee_id, 0), count(*) FROM added GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_counts_insert AFTER INSERT ON conversations REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_added();

CREATE FUNCTION conversation_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_count_deltas (account_id, inbox_id, status, assignee_id, n)
    SELECT account_id, inbox_id, status, COALESCE(assignee_id, 0), -count(*) FROM removed GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_counts_delete AFTER DELETE ON conversations REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_removed();

-- Changes row by row, only when a counted column really changed (not on
-- every stored message's update of the conversation): the old one out,
-- the new one in.
CREATE FUNCTION conversation_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_count_deltas (account_id, inbox_id, status, assignee_id, n)
    VALUES (OLD.account_id, OLD.inbox_id, OLD.status, COALESCE(OLD.assignee_id, 0), -1),
           (NEW.account_id, NEW.inbox_id, NEW.status, COALESCE(NEW.assignee_id, 0), 1);
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_counts_update
    AFTER UPDATE OF account_id, inbox_id, status, assignee_id ON conversations
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.inbox_id, OLD.status, OLD.assignee_id) IS DISTINCT FROM (NEW.account_id, NEW.inbox_id, NEW.status, NEW.assignee_id))
    EXECUTE FUNCTION conversation_counts_changed();

-- Counts of the conversations so far (writers wait for this migration's
-- lock on conversations, taken by the triggers above).
INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, n)
SELECT account_id, inbox_id, status, COALESCE(assignee_id, 0), count(*) FROM conversations GROUP BY 1, 2, 3, 4;

-- Unread counts without counting: a list row said how many of the
-- visitor's messages the team has not read by counting them (up to 100)
-- in the messages table, a heap visit each, in every row of every list
-- read; a chat nobody reads costs a hundred visits a row, and the live row
-- feed re-reads changed rows several times a second. Now the conversation
-- counts its visitor messages as they are appended (append_messages, in
-- the UPDATE it makes anyway), and the team's read position keeps the count
-- it was at (a trigger, so a backend of the previous version reading
-- during a deploy keeps it too): the unread count is their difference.
ALTER TABLE conversations ADD COLUMN visitor_messages bigint NOT NULL DEFAULT 0;
ALTER TABLE conversation_reads ADD COLUMN visitor_messages_read bigint NOT NULL DEFAULT 0;

UPDATE conversations c SET visitor_messages = m.n
    FROM (SELECT conversation_id, count(*) AS n FROM messages WHERE author_type = 'visitor' GROUP BY conversation_id) m
    WHERE m.conversation_id = c.id;
UPDATE conversation_reads r SET visitor_messages_read = m.n
    FROM (SELECT r2.conversation_id, count(m.id) AS n FROM conversation_reads r2
          JOIN messages m ON m.conversation_id = r2.conversation_id AND m.author_type = 'visitor' AND m.seq <= r2.agent_read_seq
          GROUP BY r2.conversation_id) m
    WHERE m.conversation_id = r.conversation_id;

-- The count at the team's read position: the conversation's count less the
-- visitor's messages after it (one statement, one snapshot; usually the few
-- that arrived since the page showed them).
CREATE FUNCTION conversation_reads_visitor_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.agent_read_seq IS DISTINCT FROM OLD.agent_read_seq THEN
        NEW.visitor_messages_read := (SELECT c.visitor_messages - (SELECT count(*) FROM messages m
                WHERE m.conversation_id = c.id AND m.author_type = 'visitor' AND m.seq > NEW.agent_read_seq)
            FROM conversations c WHERE c.id = NEW.conversation_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER conversation_reads_visitor_messages BEFORE INSERT OR UPDATE ON conversation_reads
    FOR EACH ROW EXECUTE FUNCTION conversation_reads_visitor_messages();

-- append_messages (migration 0047), counting the visitor's messages too.
CREATE OR REPLACE FUNCTION append_messages(p_conv bigint[], p_client text[], p_author_type text[], p_author_id bigint[],
    p_internal boolean[], p_body text[], p_require_open boolean[], p_confirm_offline boolean[])
RETURNS TABLE (ord bigint, stored_before boolean, account_id bigint, refused boolean, id bigint, seq bigint, created_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    -- Conversation rows are locked in id order, so concurrent batches never
    -- deadlock; each conversation's new messages take consecutive sequence
    -- numbers in queue order. A client id stored before is left alone (and
    -- reported), as is a message to a conversation that must be open and is
    -- not. The lock is the one an UPDATE takes (FOR NO KEY UPDATE): it
    -- serialises appends to a conversation without holding up rows that
    -- merely reference it.
    RETURN QUERY WITH input AS (
        SELECT t.conv, t.client_id, t.author_type, t.author_id, t.internal, t.body, t.require_open, t.confirm_offline, t.ord,
            d.stored IS NOT NULL AS dup
        FROM unnest(p_conv, p_client, p_author_type, p_author_id, p_internal, p_body, p_require_open, p_confirm_offline)
            WITH ORDINALITY AS t(conv, client_id, author_type, author_id, internal, body, require_open, confirm_offline, ord)
        LEFT JOIN LATERAL (SELECT true AS stored FROM messages m
            WHERE m.conversation_id = t.conv AND m.client_id = t.client_id LIMIT 1) d ON true),
    locked AS (
        SELECT c.id, c.last_seq, c.account_id, c.status FROM conversations c
        WHERE c.id = ANY (p_conv) ORDER BY c.id FOR NO KEY UPDATE),
    ok AS (
        SELECT i.conv, i.client_id, i.author_type, i.author_id, i.internal, i.body, i.confirm_offline, i.ord,
            l.last_seq + row_number() OVER (PARTITION BY i.conv ORDER BY i.ord) AS seq
        FROM input i JOIN locked l ON l.id = i.conv
        WHERE NOT i.dup AND (NOT i.require_open OR l.status = 'open')),
    conv AS (
        UPDATE conversations c SET last_seq = x.last_seq, updated_at = now(),
            visitor_messages = c.visitor_messages + x.visitor_messages,
            -- last_message_at is indexed (list order): moved at most once a
            -- second, so the other updates stay HOT (no index writes).
            last_message_at = CASE WHEN x.notes_only OR c.last_message_at > now() - interval '1 second'
                THEN c.last_message_at ELSE now() END
        FROM (SELECT o.conv, max(o.seq) AS last_seq, bool_and(o.internal) AS notes_only,
                count(*) FILTER (WHERE o.author_type = 'visitor') AS visitor_messages
            FROM ok o GROUP BY o.conv) x
        -- the batch's conversations by key, whatever the join
        WHERE c.id = x.conv AND c.id = ANY (p_conv)),
    ins AS (
        INSERT INTO messages AS m (conversation_id, seq, client_id, author_type, author_id, internal, body)
        SELECT o.conv, o.seq, o.client_id, o.author_type, o.author_id, o.internal, o.body FROM ok o
        RETURNING m.conversation_id, m.seq, m.id, m.created_at),
    -- The first agent reply of a burst, and a message left while nobody
    -- could answer, mark the conversation for the mail job (backend/mail)
    -- in this same commit: nothing due is lost.
    due AS (
        INSERT INTO mail_due (conversation_id, kind)
        SELECT DISTINCT o.conv, CASE WHEN o.author_type = 'agent' THEN 'reply' ELSE 'offline' END FROM ok o
        WHERE o.author_type = 'agent' AND NOT o.internal OR o.confirm_offline AND o.author_type = 'visitor'
        ON CONFLICT (conversation_id, kind) DO NOTHING)
    SELECT i.ord, i.dup, l.account_id, l.id IS NOT NULL AND NOT i.dup AND ok.ord IS NULL,
        ins.id, ins.seq, ins.created_at
    FROM input i
        LEFT JOIN locked l ON l.id = i.conv
        LEFT JOIN ok ON ok.ord = i.ord
        LEFT JOIN ins ON ins.conversation_id = ok.conv AND ins.seq = ok.seq
    ORDER BY i.ord;
END $$;

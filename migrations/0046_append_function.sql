-- The group-commit append (backend/internal/store/append.go) as a function,
-- so that its statement is planned once per connection instead of once per
-- batch. At moderate load a batch holds a few messages and planning the
-- nine-part statement cost more than running it (about 1 ms a batch). A
-- PL/pgSQL function's statement keeps its plan for the session; the plan is
-- the generic one (the batch's size is not known to it, so it is the same
-- plan for 1 message or 256: index look-ups by key), and PostgreSQL makes
-- it anew when the tables' statistics change (autovacuum's ANALYZE), so it
-- follows the tables as they grow.
CREATE FUNCTION append_messages(p_conv bigint[], p_client text[], p_author_type text[], p_author_id bigint[],
    p_internal boolean[], p_body text[], p_require_open boolean[], p_confirm_offline boolean[])
RETURNS TABLE (ord bigint, stored_before boolean, account_id bigint, refused boolean, id bigint, seq bigint, created_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    -- Conversation rows are locked in id order, so concurrent batches never
    -- deadlock; each conversation's new messages take consecutive sequence
    -- numbers in queue order. A client id stored before is left alone (and
    -- reported), as is a message to a conversation that must be open and is
    -- not. The lock is the one the UPDATE takes (FOR NO KEY UPDATE): it
    -- serialises appends to a conversation without holding up rows that
    -- merely reference it.
    RETURN QUERY WITH input AS (
        SELECT t.conv, t.client_id, t.author_type, t.author_id, t.internal, t.body, t.require_open, t.confirm_offline, t.ord
        FROM unnest(p_conv, p_client, p_author_type, p_author_id, p_internal, p_body, p_require_open, p_confirm_offline)
            WITH ORDINALITY AS t(conv, client_id, author_type, author_id, internal, body, require_open, confirm_offline, ord)),
    existing AS (
        SELECT i.ord, m.id FROM input i JOIN messages m ON m.conversation_id = i.conv AND m.client_id = i.client_id),
    fresh AS (
        SELECT i.conv, i.client_id, i.author_type, i.author_id, i.internal, i.body, i.require_open, i.confirm_offline, i.ord
        FROM input i WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.ord = i.ord)),
    locked AS (
        SELECT c.id, c.last_seq, c.account_id, c.status FROM conversations c
        WHERE c.id IN (SELECT f.conv FROM fresh f) ORDER BY c.id FOR NO KEY UPDATE),
    ok AS (
        SELECT f.conv, f.client_id, f.author_type, f.author_id, f.internal, f.body, f.require_open, f.confirm_offline, f.ord,
            l.last_seq + row_number() OVER (PARTITION BY f.conv ORDER BY f.ord) AS seq
        FROM fresh f JOIN locked l ON l.id = f.conv
        WHERE NOT f.require_open OR l.status = 'open'),
    conv AS (
        UPDATE conversations c SET last_seq = x.last_seq, updated_at = now(),
            -- last_message_at is indexed (list order): moved at most once a
            -- second, so the other updates stay HOT (no index writes).
            last_message_at = CASE WHEN x.notes_only OR c.last_message_at > now() - interval '1 second'
                THEN c.last_message_at ELSE now() END
        FROM (SELECT o.conv, max(o.seq) AS last_seq, bool_and(o.internal) AS notes_only FROM ok o GROUP BY o.conv) x
        WHERE c.id = x.conv
        RETURNING c.id),
    ins AS (
        INSERT INTO messages AS m (conversation_id, seq, client_id, author_type, author_id, internal, body)
        SELECT o.conv, o.seq, o.client_id, o.author_type, o.author_id, o.internal, o.body FROM ok o
        ON CONFLICT (conversation_id, client_id) DO NOTHING
        RETURNING m.conversation_id, m.seq, m.id, m.created_at),
    -- The first agent reply of a burst, and a message left while nobody
    -- could answer, mark the conversation for the mail job (backend/mail)
    -- in this same commit: nothing due is lost.
    due AS (
        INSERT INTO mail_due (conversation_id, kind)
        SELECT DISTINCT o.conv, CASE WHEN o.author_type = 'agent' THEN 'reply' ELSE 'offline' END FROM ok o
        WHERE o.author_type = 'agent' AND NOT o.internal OR o.confirm_offline AND o.author_type = 'visitor'
        ON CONFLICT (conversation_id, kind) DO NOTHING)
    SELECT i.ord, e.id IS NOT NULL, l.account_id, l.id IS NOT NULL AND ok.ord IS NULL AND e.id IS NULL,
        ins.id, ins.seq, ins.created_at
    FROM input i
        LEFT JOIN existing e ON e.ord = i.ord
        LEFT JOIN locked l ON l.id = i.conv
        LEFT JOIN ok ON ok.ord = i.ord
        LEFT JOIN ins ON ins.conversation_id = ok.conv AND ins.seq = ok.seq
        -- the conv part must run; it returns nothing anyone reads
        LEFT JOIN (SELECT count(*) FROM conv) AS updated ON false
    ORDER BY i.ord;
END $$;

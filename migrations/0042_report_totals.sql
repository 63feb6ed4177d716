-- Reports from totals the database keeps, instead of a scan of every
-- conversation of the range on each view.
--
-- A conversation's facts (its start, closing, first answer, survey score,
-- inbox and assignee) are counted once in report_totals, keyed by the
-- account's local hour (conversations started) or local day (closed,
-- survey scores, and first response and resolution times as histograms
-- of duration buckets). Every change to a conversation appends what it
-- adds and takes away to report_deltas, keyed by the conversation's start
-- instant (so independent of the time zone), from the statement that
-- makes the change; the triggers only insert, so writers never wait for
-- each other on a shared total. A report folds an account's deltas into
-- its totals (store.CompactReport) and reads totals and any deltas left.
-- Percentiles are exact: the histogram names the bucket and the rank in
-- it, and the report reads that bucket's durations from the conversations
-- (the indexes below).

-- A conversation's survey score, kept from survey_responses, so that all
-- of a conversation's facts are in its row.
ALTER TABLE conversations ADD COLUMN csat_score smallint;
UPDATE conversations c SET csat_score = r.score FROM survey_responses r WHERE r.conversation_id = c.id;

-- Duration buckets: whole seconds under 16 s, then 16 per doubling (each
-- about 4.4 % wide). Only the order matters: a bucket's durations all lie
-- between its neighbours'. Wider buckets make fewer totals to read and
-- more durations to read per percentile.
CREATE FUNCTION report_bucket(secs float8) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN secs < 16 THEN floor(secs)::integer ELSE 16 + floor(16 * ln(secs / 16) / ln(2))::integer END
$$;

-- What one conversation counts, sign +1 or -1. Kinds: c started (per
-- hour), x closed, s survey score (bucket the score), f first response
-- and r resolution (bucket of the seconds; per day). Resolution and closed
-- are not per agent.
CREATE FUNCTION report_facts(account_id bigint, created_at timestamptz, inbox_id bigint, assignee_id bigint, status text,
    closed_at timestamptz, first_response_at timestamptz, csat_score smallint, sign integer)
RETURNS TABLE (f_account_id bigint, f_created_at timestamptz, f_kind "char", f_inbox_id bigint, f_assignee_id bigint,
    f_bucket integer, f_n integer, f_total float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT $1, $2, f.kind, $3, f.assignee, f.bucket, $9, $9 * f.v
    FROM (SELECT extract(epoch FROM $7 - $2)::float8 AS fr,
                 CASE WHEN $5 = 'closed' THEN extract(epoch FROM $6 - $2)::float8 END AS res) d
    CROSS JOIN LATERAL (VALUES
        ('c'::"char", COALESCE($4, 0), 0, 0::float8),
        ('x'::"char", 0::bigint, CASE WHEN $5 = 'closed' THEN 0 END, 0::float8),
        ('s'::"char", COALESCE($4, 0), $8::integer, $8::float8),
        ('f'::"char", COALESCE($4, 0), report_bucket(d.fr), d.fr),
        ('r'::"char", 0::bigint, report_bucket(d.res), d.res)) f(kind, assignee, bucket, v)
    WHERE f.bucket IS NOT NULL
$$;

-- at: the local hour (kind c) or day the totals are of, in the account's
-- time zone; assignee_id 0 is nobody. n counts conversations, total sums
-- their seconds (f, r) or scores (s).
CREATE TABLE report_totals (
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    at          timestamp NOT NULL,
    kind        "char" NOT NULL,
    inbox_id    bigint NOT NULL,
    assignee_id bigint NOT NULL,
    bucket      integer NOT NULL,
    n           bigint NOT NULL,
    total       float8 NOT NULL,
    PRIMARY KEY (account_id, at, kind, inbox_id, assignee_id, bucket)
);

-- Changes not yet folded into report_totals; no foreign key, so that
-- deleting an account's conversations never trips over it.
CREATE TABLE report_deltas (
    account_id  bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    kind        "char" NOT NULL,
    inbox_id    bigint NOT NULL,
    assignee_id bigint NOT NULL,
    bucket      integer NOT NULL,
    n           integer NOT NULL,
    total       float8 NOT NULL
);
CREATE INDEX report_deltas_account ON report_deltas (account_id, created_at);

-- Rebuilds an account's totals from its conversations, in its time zone
-- now; the caller holds the account's report lock (class 7442).
CREATE FUNCTION report_rebuild(acct bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_totals WHERE account_id = acct;
    -- One statement, one snapshot: the deltas it removes are exactly those
    -- of the conversations' changes it reads; later ones stay.
    WITH gone AS (DELETE FROM report_deltas WHERE account_id = acct)
    INSERT INTO report_totals (account_id, at, kind, inbox_id, assignee_id, bucket, n, total)
    SELECT acct, date_trunc(CASE WHEN f.f_kind = 'c' THEN 'hour' ELSE 'day' END, f.f_created_at AT TIME ZONE a.timezone),
        f.f_kind, f.f_inbox_id, f.f_assignee_id, f.f_bucket, sum(f.f_n), sum(f.f_total)
    FROM conversations c
    JOIN accounts a ON a.id = c.account_id
    CROSS JOIN LATERAL report_facts(c.account_id, c.created_at, c.inbox_id, c.assignee_id, c.status, c.closed_at,
        c.first_response_at, c.csat_score, 1) f
    WHERE c.account_id = acct
    GROUP BY 2, 3, 4, 5, 6;
END $$;

-- Another time zone moves every local hour and day: rebuild.
CREATE FUNCTION report_timezone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7442, (NEW.id % 2147483647)::integer);
    PERFORM report_rebuild(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_report_timezone AFTER UPDATE OF timezone ON accounts FOR EACH ROW
    WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION report_timezone_changed();

-- New and deleted conversations, once per statement (a creation batch is
-- one INSERT).
CREATE FUNCTION report_conversations_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_deltas (account_id, created_at, kind, inbox_id, assignee_id, bucket, n, total)
    SELECT f.* FROM added c CROSS JOIN LATERAL report_facts(c.account_id, c.created_at, c.inbox_id, c.assignee_id,
        c.status, c.closed_at, c.first_response_at, c.csat_score, 1) f;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_report_insert AFTER INSERT ON conversations REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION report_conversations_added();

CREATE FUNCTION report_conversations_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_deltas (account_id, created_at, kind, inbox_id, assignee_id, bucket, n, total)
    SELECT f.* FROM removed c CROSS JOIN LATERAL report_facts(c.account_id, c.created_at, c.inbox_id, c.assignee_id,
        c.status, c.closed_at, c.first_response_at, c.csat_score, -1) f;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_report_delete AFTER DELETE ON conversations REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION report_conversations_removed();

-- Changes row by row, only when a counted column really changed (not on
-- every stored message's sequence update): the old facts out, the new in.
CREATE FUNCTION report_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_deltas (account_id, created_at, kind, inbox_id, assignee_id, bucket, n, total)
    SELECT f.f_account_id, f.f_created_at, f.f_kind, f.f_inbox_id, f.f_assignee_id, f.f_bucket, sum(f.f_n), sum(f.f_total)
    FROM (SELECT * FROM report_facts(OLD.account_id, OLD.created_at, OLD.inbox_id, OLD.assignee_id, OLD.status,
              OLD.closed_at, OLD.first_response_at, OLD.csat_score, -1)
          UNION ALL
          SELECT * FROM report_facts(NEW.account_id, NEW.created_at, NEW.inbox_id, NEW.assignee_id, NEW.status,
              NEW.closed_at, NEW.first_response_at, NEW.csat_score, 1)) f
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(f.f_n) <> 0 OR sum(f.f_total) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_report_update
    AFTER UPDATE OF account_id, created_at, inbox_id, assignee_id, status, closed_at, first_response_at, csat_score ON conversations
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.created_at, OLD.inbox_id, OLD.assignee_id, OLD.status, OLD.closed_at, OLD.first_response_at, OLD.csat_score)
        IS DISTINCT FROM (NEW.account_id, NEW.created_at, NEW.inbox_id, NEW.assignee_id, NEW.status, NEW.closed_at, NEW.first_response_at, NEW.csat_score))
    EXECUTE FUNCTION report_conversation_changed();

-- Survey answers given, changed or removed (a survey deleted) set the score.
CREATE FUNCTION report_survey_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE conversations c SET csat_score = NULL
            FROM removed r WHERE c.id = r.conversation_id AND c.csat_score IS NOT NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE conversations c SET csat_score = a.score
            FROM added a WHERE c.id = a.conversation_id AND c.csat_score IS DISTINCT FROM a.score;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER survey_responses_report_insert AFTER INSERT ON survey_responses REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION report_survey_answers();
CREATE TRIGGER survey_responses_report_update AFTER UPDATE ON survey_responses REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION report_survey_answers();
CREATE TRIGGER survey_responses_report_delete AFTER DELETE ON survey_responses REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION report_survey_answers();

-- Totals of the conversations so far.
INSERT INTO report_totals (account_id, at, kind, inbox_id, assignee_id, bucket, n, total)
SELECT c.account_id, date_trunc(CASE WHEN f.f_kind = 'c' THEN 'hour' ELSE 'day' END, f.f_created_at AT TIME ZONE a.timezone),
    f.f_kind, f.f_inbox_id, f.f_assignee_id, f.f_bucket, sum(f.f_n), sum(f.f_total)
FROM conversations c
JOIN accounts a ON a.id = c.account_id
CROSS JOIN LATERAL report_facts(c.account_id, c.created_at, c.inbox_id, c.assignee_id, c.status, c.closed_at,
    c.first_response_at, c.csat_score, 1) f
GROUP BY 1, 2, 3, 4, 5, 6;

-- A report reads the durations of one bucket of a range, for exact
-- percentiles; from the index alone where the table is vacuumed.
CREATE INDEX conversations_report_first_response ON conversations
    (account_id, report_bucket(extract(epoch FROM first_response_at - created_at)::float8), created_at)
    INCLUDE (first_response_at, assignee_id, inbox_id)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX conversations_report_resolution ON conversations
    (account_id, report_bucket(extract(epoch FROM closed_at - created_at)::float8), created_at)
    INCLUDE (closed_at, inbox_id)
    WHERE status = 'closed' AND closed_at IS NOT NULL;

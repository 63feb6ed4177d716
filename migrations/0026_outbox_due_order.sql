-- Senders claim the earliest due emails ORDER BY next_attempt_at, id: with
-- id in the index the claim reads its batch in index order instead of
-- sorting every due row that shares a time (a burst written by one
-- statement, or retries scheduled together after an outage).
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

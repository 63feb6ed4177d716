-- Every stored message updates its conversation's row (sequence number,
-- updated_at). Free space on each page lets those updates stay HOT: the new
-- row version lands on the same page and no index is written.
ALTER TABLE conversations SET (fillfactor = 80);

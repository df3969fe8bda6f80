-- 0044: issue_tag rows are updated by every fold (src/digest/fold.ts: count, first_seen, last_seen of
-- each (issue, tag value) a fold's window saw again), and none of those columns is indexed, so the
-- updates can be HOT (the new row version on the same page, no new index entries) where the page
-- has room. Filled to 100 %, pages had none: a digest drain of ~38,000 payloads of the bench's
-- realistic mix (one worker, PostgreSQL 15) made 37,000–47,000 updates of which 7–11 % were HOT, and
-- every other one added an entry to both indexes. With 30 % of each new page kept free: 80–83 % HOT,
-- the table and its indexes 10.6–10.9 MB instead of 12.7–13.4 MB, PostgreSQL CPU 144–147 µs per
-- payload instead of 150–153, drained at 2,227–2,238 payloads/s instead of 2,097–2,207 (two
-- alternating pairs). Applies to pages written from now on; existing pages fill as before.
ALTER TABLE issue_tag SET (fillfactor = 70);

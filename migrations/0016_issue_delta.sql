-- 0016: issue counters owed by digest batches (src/digest/fold.ts). A batch no longer updates its
-- issues' rows and issue_tag rows itself: it inserts one row here per issue it counted (events,
-- new users, first/last seen, tag value counts), and a fold moves them into issue and issue_tag —
-- in the same transaction when the batch drained the queue (what a user sees is exact at commit,
-- as before), otherwise every few seconds (src/digest/fold.ts). Measured on the bench mix (~160 issues per batch of
-- 200 events): writing issue and issue_tag per batch cost ~90 µs of PostgreSQL per event, half of
-- the digest's PostgreSQL time; during a backlog an issue's row is now written once per fold.
-- Append-only between folds, no indexes and no foreign keys, so a batch's insert is cheap; a fold
-- takes every row it can see (DELETE … RETURNING) and ignores issues deleted meanwhile. Times are
-- epoch seconds (float8), as the digest computes them.
CREATE TABLE issue_delta (
  project_id     bigint NOT NULL,
  issue_id       bigint NOT NULL,
  events         bigint NOT NULL,
  users          integer NOT NULL,       -- users new to the issue (issue_user rows this batch inserted)
  first_seen     float8 NOT NULL,
  last_seen      float8 NOT NULL,
  last_event_id  uuid NOT NULL,          -- the event with the newest timestamp
  last_received  float8 NOT NULL,        -- newest receive time: decides regressions
  tag_ids        integer[] NOT NULL,     -- tag_value ids, and per id: events, first and last seen
  tag_counts     integer[] NOT NULL,
  tag_first      float8[] NOT NULL,
  tag_last       float8[] NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
COMMENT ON TABLE issue_delta IS 'Issue counters not yet folded into issue / issue_tag (migrations/0016, src/digest/fold.ts); empty whenever the digest is idle';

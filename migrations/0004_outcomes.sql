-- 0004: outcomes (what became of items we did not accept, per project, hour, reason and category)
-- and the shared state that keeps rate limits approximately right across several ingest processes.

-- Counts, not rows per item: each process buffers counts in memory and adds them here about once a
-- second with one upsert, so a flood of refused requests costs one statement per second, not one
-- write per request. project_id is NULL when the project is unknown (bad key, no such project).
CREATE TABLE outcome (
  project_id    bigint REFERENCES project (id) ON DELETE CASCADE,
  hour          timestamptz NOT NULL,            -- start of the UTC hour
  outcome       text NOT NULL,                   -- filtered, rate_limited, invalid, too_large, unauthorized, ...
  reason        text NOT NULL DEFAULT '',        -- e.g. project_rate_limit, MAX_EVENT_BYTES
  category      text NOT NULL,                   -- Sentry data category: error, transaction, session, ...
  quantity      bigint NOT NULL CHECK (quantity >= 0)
);
-- The upsert's conflict target; coalesce because NULL project ids must collide too (UNIQUE NULLS
-- NOT DISTINCT would need PostgreSQL 15, and we support 14).
CREATE UNIQUE INDEX outcome_key ON outcome ((coalesce(project_id, 0)), hour, outcome, reason, category);
CREATE INDEX outcome_hour ON outcome (hour);

-- Rate-limit tokens taken by each ingest process, per bucket ('g' global, 'p:<id>' project,
-- 'i:<address>' client): each process adds its consumption every ~500 ms and debits the others'
-- from its local buckets (src/ratelimit/sync.ts). `spent` is cumulative per (key, process);
-- `last_spent` is the latest addition, which is all a process that never saw the row before
-- debits. Rows idle for 60 s are deleted. UNLOGGED: this is soft state, rebuilt in seconds after
-- a crash, and skipping the WAL keeps it from costing fsyncs.
CREATE UNLOGGED TABLE rate_limit_spend (
  key           text NOT NULL,
  process_id    uuid NOT NULL,
  spent         bigint NOT NULL,
  last_spent    bigint NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, process_id)
);
CREATE INDEX rate_limit_spend_updated ON rate_limit_spend (updated_at);

-- 0017: retention by age and count per project, the disk budget, and a record of what they deleted
-- (src/archive/retention/).

-- NULL = the setting (RETENTION_DAYS; no per-issue limit).
ALTER TABLE project ADD COLUMN retention_days integer CHECK (retention_days IS NULL OR retention_days BETWEEN 1 AND 36500);
ALTER TABLE project ADD COLUMN max_events_per_issue integer CHECK (max_events_per_issue IS NULL OR max_events_per_issue >= 2);

-- Rows deleted by retention, per hour, project and kind (age, count, budget, empty-issue, …): a
-- deletion is not an ingest outcome, but never silent. /health sums the last 24 hours.
CREATE TABLE retention_deletion (
  hour          timestamptz NOT NULL,
  project_id    bigint NOT NULL,             -- 0: rows of no project (outcomes of unknown keys); no FOREIGN KEY: the record outlives a deleted project until RETENTION_DAYS
  kind          text NOT NULL,
  events        bigint NOT NULL DEFAULT 0,   -- reports deleted
  payloads      bigint NOT NULL DEFAULT 0,   -- archive rows deleted
  payload_bytes bigint NOT NULL DEFAULT 0,   -- their stored bytes
  rows          bigint NOT NULL DEFAULT 0,   -- other rows (attachments, sessions, hourly counts, issues, …)
  PRIMARY KEY (hour, project_id, kind)
);

-- Retention by age reads each project's oldest payloads, and the budget the oldest of all projects
-- (the oldest of each project's oldest): both through (project_id, received_at), which replaces the
-- index on received_at alone (same size: 16-byte keys either way).
DROP INDEX archive_received;
CREATE INDEX archive_project_received ON archive (project_id, received_at);

-- Retention deletes a payload's report (and attachments, feedback, check-ins, invalid items: these
-- have (project_id, archive_id, item_index) keys already) by archive id.
CREATE INDEX report_archive ON report (project_id, archive_id);

-- Deleting an archive row cascades to queue and queue_error; without these every deleted row scans
-- both tables (a backlog can be millions of queue rows). Retention also checks that a payload is
-- not queued (never delete what the digest has not processed) through the first one.
CREATE INDEX queue_archive ON queue (project_id, archive_id);
CREATE INDEX queue_error_archive ON queue_error (project_id, archive_id);

-- The disk budget counts what is really used: the files' size minus the free space VACUUM recorded
-- in the free space maps (PostgreSQL does not shrink files after DELETE; it reuses the space).
-- pg_freespacemap is a contrib extension that needs a superuser to create: with the embedded
-- PostgreSQL it is created here; elsewhere, when it cannot be, STORAGE_MAX_BYTES refuses to start
-- and says so (src/archive/retention/size.ts).
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_freespacemap;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_freespacemap not available (%): STORAGE_MAX_BYTES cannot be used', SQLERRM;
END $$;

-- 0032: administering projects and their DSN keys from the UI and the API (issue #20).

-- A project being deleted (src/storage/project-delete.ts): hidden from every list and lookup at once,
-- refused by ingest (disabled), its slug freed for a new project; its rows are then deleted in bounded
-- batches and the project row last. A process that dies half way leaves the mark, and the retention
-- passes (kind `project`) finish the deletion.
ALTER TABLE project ADD COLUMN deleted_at timestamptz;

-- A key's own rate limit, as Sentry's: at most `count` error events (error, default, security) per
-- `window` seconds; NULL = none. Enforced by ingest with a token bucket per key
-- (src/ratelimit/limits.ts) read from the key lookup ingest already makes.
ALTER TABLE project_key ADD COLUMN rate_limit_count integer CHECK (rate_limit_count IS NULL OR rate_limit_count >= 1);
ALTER TABLE project_key ADD COLUMN rate_limit_window integer CHECK (rate_limit_window IS NULL OR rate_limit_window BETWEEN 1 AND 86400);
ALTER TABLE project_key ADD CONSTRAINT project_key_rate_limit_both CHECK ((rate_limit_count IS NULL) = (rate_limit_window IS NULL));
-- A rotated key: disabled, and the key that replaced it (shown on the keys page).
ALTER TABLE project_key ADD COLUMN replaced_by text REFERENCES project_key (public_key) ON DELETE SET NULL;

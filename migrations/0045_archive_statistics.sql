-- 0045: ANALYZE of `archive` samples 300 rows per unit of its largest column statistics target
-- (default 100: 30,000 rows) and copies each sampled row whole. Since 0009 a payload of up to ~8 KB
-- stays in the row, so that sample held most of the table's recent payloads: an autovacuum worker
-- analysing it took ~75 MB of private memory (RssAnon, bench realistic mix, ~60,000 payloads) and
-- read up to 30,000 pages. No query filters or sorts on the payload, its metadata or its hash
-- (the hash is looked up through its unique index, whose uniqueness the planner knows without
-- statistics); the planner needs only a rough picture of project_id, received_at, kind and
-- encoding, which 10 gives (3,000 rows). Measured in BENCHMARKS.md (2026-12-06, 17:30).
ALTER TABLE archive
  ALTER COLUMN payload SET STATISTICS 0,
  ALTER COLUMN meta SET STATISTICS 0,
  ALTER COLUMN sha256 SET STATISTICS 0,
  ALTER COLUMN event_id SET STATISTICS 0,
  ALTER COLUMN stored_size SET STATISTICS 0,
  ALTER COLUMN raw_size SET STATISTICS 0,
  ALTER COLUMN dict_id SET STATISTICS 0,
  ALTER COLUMN id SET STATISTICS 10,
  ALTER COLUMN project_id SET STATISTICS 10,
  ALTER COLUMN received_at SET STATISTICS 10,
  ALTER COLUMN kind SET STATISTICS 10,
  ALTER COLUMN encoding SET STATISTICS 10;

-- 0010: archive payloads compressed against a per-project dictionary. SDKs send nearly the same bytes
-- again and again (the same error, the same SDK context, modules and breadcrumbs); raw deflate with a
-- preset dictionary of an earlier payload stores a repeat of the bench's 8.9 KB @sentry/node envelope
-- in ~90 bytes instead of brotli quality 1's ~3,350 (src/ingest/dictionaries.ts).
--
-- A dictionary is at most 32 KB (deflate's window: more would never be referenced), written by an
-- ingest process in its own committed insert before the first archive row that uses it. Dictionaries
-- are never changed or deleted (only with their project); a process that wants a better one inserts a
-- new row. No FOREIGN KEY from archive.dict_id: it would run a trigger and take a KEY SHARE lock on the
-- same dictionary row for every archived payload, from every ingest process at once (multixacts on a
-- hot row), and deleting a dictionary would need another index on the archive to check.
CREATE TABLE archive_dict (
  project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  bytes         bytea NOT NULL CHECK (length(bytes) BETWEEN 1 AND 32768),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, id)
);

-- NULL = the payload needs no dictionary. For a row with one, `encoding` is 'deflate-dict' (raw deflate,
-- RFC 1951, with `dict_id`'s bytes as preset dictionary) and `sha256` is taken over the stored bytes
-- followed by the dictionary id as 8 bytes big-endian: two payloads compressed against different
-- dictionaries can be the same bytes (a payload equal to its dictionary's end is "copy N bytes from
-- distance N"), and must not be taken for one another by the archive's (project_id, sha256) dedup.
ALTER TABLE archive ADD COLUMN dict_id bigint;

-- NOT VALID: rows already stored satisfy the stricter 0001 check and have no dictionary; validating
-- would read the whole archive while holding the table's lock. New and updated rows are checked.
ALTER TABLE archive DROP CONSTRAINT archive_encoding_check;
ALTER TABLE archive ADD CONSTRAINT archive_encoding_check
  CHECK (encoding IN ('identity', 'gzip', 'deflate', 'br', 'zstd', 'deflate-dict')) NOT VALID;
ALTER TABLE archive ADD CONSTRAINT archive_dict_encoding
  CHECK ((encoding = 'deflate-dict') = (dict_id IS NOT NULL)) NOT VALID;

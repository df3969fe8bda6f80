-- 0038: merged issues (src/api/queries/merge.ts). A merge moves the children's events, hashes and counts
-- into the parent and deletes the children; issue_hash then sends their fingerprints to the parent.
-- issue_hash is derived (`ruminate` empties and rebuilds it from the archive), so the decision itself
-- is kept here, where ruminate does not reach: each hash of a merged issue → the primary hash of the
-- issue it now belongs to. The digest reads it only for an event none of whose hashes is in
-- issue_hash (one that would make a new issue), and then files the event under `target_hash` instead
-- of its own primary hash: the parent, or — after ruminate — the parent rebuilt under its kept id.
CREATE TABLE issue_merge (
  project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  hash          text NOT NULL,
  -- primary hash of the issue the hash's events go to (always an issue's own primary hash: a merge of
  -- that issue into another moves these rows along, so there are no chains)
  target_hash   text NOT NULL,
  -- primary hash of the issue the hash came from: the fingerprint an unmerge splits out again
  source_hash   text NOT NULL,
  merged_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, hash)
);
CREATE INDEX issue_merge_target ON issue_merge (project_id, target_hash);

-- The primary hash of each event: an unmerge moves exactly the events of the fingerprints it splits
-- out. 16 bytes (a primary hash is always 32 hex digits: src/grouping/index.ts). NULL in rows digested
-- before this migration: such an event has its issue's primary hash (a merge fills it in for the
-- children's events it moves).
ALTER TABLE report ADD COLUMN primary_hash uuid;

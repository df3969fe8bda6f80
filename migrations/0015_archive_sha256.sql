-- 0015: what archive.sha256 is a hash of, from now on. It is the (project_id, sha256) dedup key that
-- stores an SDK's retry of the same bytes once. It was taken over the payload as stored (then, with
-- archive dictionaries, followed by dict_id), so the same body sent twice was stored twice when the
-- project's dictionary changed in between. Now: SHA-256 of the body's content encoding as the client
-- sent it ('identity', 'gzip', ...), a NUL byte, and the body exactly as received. Rows stored
-- before keep their hash; a retry that spans the upgrade is stored twice, and its event still
-- becomes one report (reports are unique per event id).
COMMENT ON COLUMN archive.sha256 IS 'SHA-256 of the content encoding as sent, a NUL byte, and the body as received: the dedup key of SDK retries (migrations/0015)';

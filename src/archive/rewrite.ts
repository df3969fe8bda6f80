import type pg from 'pg';
import type { ArchiveRewrite } from '../digest/rewrite-payload.js';

// The one statement that writes scrubbed payloads back into the archive, run inside the digest
// batch's transaction (batch.ts), so the reports made from a payload and the payload's scrubbed form
// commit together: nothing reads the unscrubbed bytes of a digested event afterwards. `sha256` is
// left as it was (the dedup key of the body as the client sent it: a retry of the same bytes is
// still recognised and not stored again). One row per statement: rewrites are rare (only payloads
// in which something was scrubbed) and pg sends a lone Buffer as binary, an array of them as hex.
// Built by the prepare threads (digest/rewrite-payload.ts); written here, by the archive's module.

const SQL = `UPDATE archive SET
    kind = coalesce($3, kind),
    encoding = CASE WHEN $4::bytea IS NULL THEN encoding ELSE 'br' END,
    dict_id = CASE WHEN $4::bytea IS NULL THEN dict_id END,
    payload = coalesce($4::bytea, payload),
    stored_size = coalesce(length($4::bytea), stored_size),
    raw_size = coalesce($5::int, raw_size),
    meta = $6::jsonb
  WHERE project_id = $1 AND id = $2`;

export async function rewriteArchive(client: pg.ClientBase, rewrites: ArchiveRewrite[]): Promise<void> {
  for (const r of rewrites) {
    const payload = r.payload === null ? null : Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength);
    await client.query({ name: 'digest-archive-rewrite', text: SQL, values: [r.projectId, r.archiveId, r.kind, payload, r.rawSize, JSON.stringify(r.meta)] });
  }
}

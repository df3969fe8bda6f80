// The one statement that makes a batch of payloads durable: insert the archive rows (identical
// payloads of a project — same sha-256 of the stored bytes — are skipped), queue exactly the rows
// that were inserted, bump the 'ingested' counter, and NOTIFY the digest workers (of other processes:
// the payload names the sender, see src/queue/listen.ts). One statement is
// one transaction: either all of it commits or none.
//
// One text for every batch size, prepared once per connection (a named statement): PostgreSQL
// parses and plans it once instead of at every commit. The payloads and their sha-256s travel as
// two binary bytea parameters, each row's part cut out by substring() (pg sends top-level Buffers as
// binary; arrays of Buffers would go as hex text, twice the bytes); the other columns as array
// literals. Measured (embedded PG 18, 916-byte payloads, 3 alternating runs of 20,000 rows, PostgreSQL
// CPU per row): 40-row batches 50–60 µs as a multi-row VALUES sent unprepared → 30.5–46 µs; 200-row
// 46–58 → 29–38; 4-row 142–183 → 96–107. A prepared VALUES statement per batch size saves as much
// but keeps ~6.5 KB of plan per row of every size it has seen on every connection (1.7 MB for 256 rows).

import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { numArray, textArray } from '../storage/pg-array.js';
import { NOTIFY_SENDER } from '../queue/listen.js';
import type { NewArchiveRow } from './row.js';

/**
 * The stored bytes one statement carries at most (a bytea parameter may not pass 1 GB); the group
 * commit starts a new statement past it. A payload larger than this goes alone.
 */
export const MAX_STATEMENT_BYTES = 256 * 2 ** 20;

const INSERT_SQL = `WITH ins AS (
  INSERT INTO archive (project_id, sha256, kind, encoding, event_id, stored_size, raw_size, meta, payload, dict_id)
  SELECT v.project_id, substring($1::bytea FROM v.i::int * 32 - 31 FOR 32), v.kind, v.encoding, v.event_id,
         v.stored_size, v.raw_size, v.meta, substring($2::bytea FROM v.offset_ + 1 FOR v.stored_size), v.dict_id
    FROM unnest($3::bigint[], $4::text[], $5::text[], $6::uuid[], $7::int[], $8::int[], $9::jsonb[], $10::bigint[], $11::int[])
         WITH ORDINALITY AS v(project_id, kind, encoding, event_id, stored_size, raw_size, meta, dict_id, offset_, i)
  ON CONFLICT (project_id, sha256) DO NOTHING
  RETURNING project_id, id, sha256
), q AS (
  INSERT INTO queue (project_id, archive_id) SELECT project_id, id FROM ins
), c AS (
  INSERT INTO counter (name, slot, value) SELECT 'ingested', $12::smallint, count(*) FROM ins HAVING count(*) > 0
  ON CONFLICT (name, slot) DO UPDATE SET value = counter.value + excluded.value
)
SELECT (SELECT count(*) FROM ins)::int AS inserted,
       (SELECT count(*) FROM (SELECT pg_notify('crash_cache_queue', $13::text) FROM ins LIMIT 1) n)::int AS notified`;

/**
 * Archives `rows` and queues the new ones in one statement (one transaction); identical payloads of
 * a project, within the rows or stored before, become one row.
 */
export async function insertArchiveRows(pool: pg.Pool | pg.ClientBase, rows: NewArchiveRow[]): Promise<void> {
  const seen = new Set<string>();
  const unique = rows.filter((r) => {
    const k = `${r.projectId}:${r.sha256.toString('hex')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const offsets: number[] = [];
  let offset = 0;
  for (const r of unique) {
    // substring() cuts the hashes 32 bytes apart: anything else would shift every row after it.
    if (r.sha256.length !== 32) throw new Error(`archive insert: a sha-256 is 32 bytes, got ${r.sha256.length}`);
    offsets.push(offset);
    offset += r.payload.length;
  }
  await pool.query({
    name: 'archive-insert',
    text: INSERT_SQL,
    values: [
      Buffer.concat(unique.map((r) => r.sha256)),
      Buffer.concat(unique.map((r) => r.payload), offset),
      numArray(unique.map((r) => r.projectId)),
      textArray(unique.map((r) => r.kind)),
      textArray(unique.map((r) => r.encoding)),
      textArray(unique.map((r) => r.eventId)),
      numArray(unique.map((r) => r.payload.length)),
      numArray(unique.map((r) => r.rawSize)),
      textArray(unique.map((r) => JSON.stringify(r.meta))),
      numArray(unique.map((r) => r.dictId ?? null)),
      numArray(offsets),
      randomInt(16),
      NOTIFY_SENDER,
    ],
  });
}

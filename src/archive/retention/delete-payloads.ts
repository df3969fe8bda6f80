import type pg from 'pg';

// Deleting payloads: an archive row goes together with everything the digest derived from it that
// points at it (reports, attachments, feedback, check-ins, invalid items; its queue_error row by the
// foreign key's cascade). Issues keep their counters, first/last seen and status; their tag and user
// counts too. One statement, so a payload is never half deleted.

export interface Deleted {
  projectId: number;
  events: number;
  payloads: number;
  payloadBytes: number;
  rows: number;
}

const DERIVED = ['attachment', 'user_report', 'check_in', 'item_invalid'];

/**
 * Deletes the archive rows `victimSql` selects (columns project_id, id; parameters `params`) with
 * their derived rows. The caller's SELECT must leave out payloads still queued for the digest.
 */
export async function deletePayloads(client: pg.ClientBase, victimSql: string, params: unknown[]): Promise<Deleted[]> {
  const derived = DERIVED.map((t) =>
    `d_${t} AS (DELETE FROM ${t} x USING victim v WHERE x.project_id = v.project_id AND x.archive_id = v.id RETURNING x.project_id)`).join(',\n     ');
  const { rows } = await client.query<{ project_id: number; events: string; payloads: string; bytes: string; rows: string }>(
    `WITH victim AS MATERIALIZED (${victimSql}),
     d_report AS (DELETE FROM report x USING victim v WHERE x.project_id = v.project_id AND x.archive_id = v.id RETURNING x.project_id),
     ${derived},
     d_archive AS (DELETE FROM archive x USING victim v WHERE x.project_id = v.project_id AND x.id = v.id RETURNING x.project_id, x.stored_size)
     SELECT project_id, sum(events)::text AS events, sum(payloads)::text AS payloads, sum(bytes)::text AS bytes, sum(rows)::text AS rows FROM (
       SELECT project_id, 1 AS events, 0 AS payloads, 0 AS bytes, 0 AS rows FROM d_report
       UNION ALL SELECT project_id, 0, 1, stored_size, 0 FROM d_archive
       ${DERIVED.map((t) => `UNION ALL SELECT project_id, 0, 0, 0, 1 FROM d_${t}`).join('\n       ')}
     ) x GROUP BY project_id`, params);
  return rows.map((r) => ({ projectId: Number(r.project_id), events: Number(r.events), payloads: Number(r.payloads), payloadBytes: Number(r.bytes), rows: Number(r.rows) }));
}

/** `NOT EXISTS` of a queue row for archive row `a`: the digest has not processed it yet. */
export const NOT_QUEUED = 'NOT EXISTS (SELECT 1 FROM queue q WHERE q.project_id = a.project_id AND q.archive_id = a.id)';

import type pg from 'pg';
import type { Deleted } from './delete-payloads.js';

// The record of every deletion (table retention_deletion, migrations/0017): what a retention batch or
// a project's deletion removed, per hour, project and kind, in the transaction that removed it.

/** Adds `deleted` to the hour's row of each project for `kind`. */
export async function recordDeletion(client: pg.ClientBase, kind: string, deleted: Deleted[]): Promise<void> {
  await client.query(
    `INSERT INTO retention_deletion (hour, project_id, kind, events, payloads, payload_bytes, rows)
     SELECT date_trunc('hour', now()), k.project_id, $1, k.events, k.payloads, k.bytes, k.rows
       FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS k(project_id, events, payloads, bytes, rows)
     ON CONFLICT (hour, project_id, kind) DO UPDATE SET events = retention_deletion.events + excluded.events,
       payloads = retention_deletion.payloads + excluded.payloads, payload_bytes = retention_deletion.payload_bytes + excluded.payload_bytes,
       rows = retention_deletion.rows + excluded.rows`,
    [kind, deleted.map((d) => d.projectId), deleted.map((d) => d.events), deleted.map((d) => d.payloads), deleted.map((d) => d.payloadBytes), deleted.map((d) => d.rows)]);
}

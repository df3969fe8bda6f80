import type pg from 'pg';
import { normalizeEvent, type NormalizedEvent } from '../protocol/event.js';
import { fallbackEventId, parsePayload, type ArchiveRow } from './payload.js';
import { sharedSymbolicator } from '../sourcemaps/shared.js';

// The full event is not copied into the database: a report row points at its archived payload
// (archive_id + item index) and the event is rebuilt on demand — decompress, parse, normalize —
// exactly as the digest saw it.

/** Largest payload rebuilt here (the envelope limit's default, 100 MiB). */
const MAX_BYTES = 100 * 1024 * 1024;

function uuidOf(eventId: string): string | null {
  const s = eventId.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : null;
}

/** The normalized event (Sentry's stored shape, plus `title`, `culprit`, `metadata`), source maps applied, or null. */
export async function loadEvent(pool: pg.Pool | pg.ClientBase, projectId: number, eventId: string): Promise<NormalizedEvent | null> {
  const id = uuidOf(eventId);
  if (!id) return null;
  const { rows } = await pool.query<ArchiveRow & { item_index: number }>(
    `SELECT a.project_id, a.id, a.kind, a.encoding, a.event_id, a.received_at, a.meta, a.payload, a.dict_id, d.bytes AS dict, r.item_index
       FROM report r JOIN archive a ON a.project_id = r.project_id AND a.id = r.archive_id
       LEFT JOIN archive_dict d ON d.project_id = a.project_id AND d.id = a.dict_id
      WHERE r.project_id = $1 AND r.event_id = $2`,
    [projectId, id]);
  const row = rows[0];
  if (!row) return null;
  const parsed = parsePayload(row, MAX_BYTES);
  const item = parsed.items.find((i) => i.index === row.item_index);
  if (!item || item.json === undefined) return null;
  const ev = normalizeEvent(item.json, { receivedAt: row.received_at, eventId: parsed.eventId, fallbackId: fallbackEventId(row, item.index) });
  // Source maps apply on every read: one uploaded after the event shows here at once (src/sourcemaps/).
  await sharedSymbolicator().symbolicate(pool, [{ projectId, ev }]);
  return ev;
}

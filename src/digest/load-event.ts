import type pg from 'pg';
import { normalizeEvent, type NormalizedEvent } from '../protocol/event.js';
import { readArchiveRow } from '../archive/read.js';
import { fallbackEventId, parsePayload } from './payload.js';
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
  const { rows } = await pool.query<{ archive_id: number; item_index: number }>(
    'SELECT archive_id, item_index FROM report WHERE project_id = $1 AND event_id = $2', [projectId, id]);
  const report = rows[0];
  if (!report) return null;
  const row = await readArchiveRow(pool, projectId, report.archive_id);
  if (!row) return null;
  const parsed = parsePayload(row, MAX_BYTES);
  const item = parsed.items.find((i) => i.index === report.item_index);
  if (!item || item.json === undefined) return null;
  const ev = normalizeEvent(item.json, { receivedAt: row.received_at, eventId: parsed.eventId, fallbackId: fallbackEventId(row, item.index) });
  // Source maps apply on every read: one uploaded after the event shows here at once (src/sourcemaps/).
  await sharedSymbolicator().symbolicate(pool, [{ projectId, ev }]);
  return ev;
}

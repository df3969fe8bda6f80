import type pg from 'pg';
import { isObj, MAX_PAST_SECS, parseTimestamp, str, type Json } from '../protocol/event.js';
import { categoryOf } from '../protocol/categories.js';
import { clean } from './dims.js';

// The small item types: client reports, unprocessed-item counts, invalid items, user feedback,
// attachments (metadata; bytes stay in the archive) and cron check-ins. One multi-row statement
// per table per batch. Rows that derive from an archived item carry (archive_id, item_index) and
// are inserted ON CONFLICT DO NOTHING, so digesting a payload twice cannot duplicate them.

export interface Extras {
  clientReports: Map<string, { projectId: number; hour: number; reason: string; category: string; quantity: number }>;
  counts: Map<string, { projectId: number; hour: number; category: string; items: number; bytes: number }>;
  invalid: { projectId: number; archiveId: number; itemIndex: number; receivedAt: Date; type: string; reason: string }[];
  userReports: { projectId: number; archiveId: number; itemIndex: number; receivedAt: Date; eventId: string | null; feedbackId: string | null; kind: 'user_report' | 'feedback'; name: string | null; email: string | null; comments: string; url: string | null }[];
  attachments: { projectId: number; archiveId: number; itemIndex: number; receivedAt: Date; eventId: string | null; filename: string; contentType: string; attachmentType: string; size: number }[];
  checkIns: { projectId: number; archiveId: number; itemIndex: number; receivedAt: Date; checkInId: string | null; slug: string; status: string; duration: number | null; environment: string | null; release: string | null; config: Json | null }[];
}

export function newExtras(): Extras {
  return { clientReports: new Map(), counts: new Map(), invalid: [], userReports: [], attachments: [], checkIns: [] };
}

export const hourOf = (secs: number): number => Math.floor(secs / 3600) * 3600;

export function addCount(x: Extras, projectId: number, receivedAt: Date, type: string, bytes: number, items = 1): void {
  const hour = hourOf(receivedAt.getTime() / 1000);
  const category = categoryOf(type);
  const k = `${projectId}/${hour}/${category}`;
  const c = x.counts.get(k);
  if (c) (c.items += items), (c.bytes += bytes);
  else x.counts.set(k, { projectId, hour, category, items, bytes });
}

/** client_report item → per-hour counts. Returns a reason when the item is unusable. */
export function addClientReport(x: Extras, projectId: number, receivedAt: Date, j: unknown): string | null {
  if (!isObj(j)) return 'client_report is not a JSON object';
  // Counted in the hour it says, unless that is in the future or more than 30 days back (then: received).
  const received = receivedAt.getTime() / 1000;
  const sent = parseTimestamp(j.timestamp);
  const hour = hourOf(sent !== null && sent <= received && sent >= received - MAX_PAST_SECS ? sent : received);
  const lists = [j.discarded_events, j.rate_limited_events, j.filtered_events, j.filtered_sampling_events];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const d of list) {
      if (!isObj(d)) continue;
      const reason = clean(str(d.reason) ?? 'unknown').slice(0, 100);
      const category = clean(str(d.category) ?? 'default').slice(0, 50);
      // At most 2^32 - 1 per entry (Relay's u32), so that sums stay exact integers.
      const q = typeof d.quantity === 'number' && Number.isFinite(d.quantity) && d.quantity > 0 ? Math.min(Math.floor(d.quantity), 0xffffffff) : 0;
      if (!q) continue;
      const k = `${projectId}/${hour}/${reason}/${category}`;
      const c = x.clientReports.get(k);
      if (c) c.quantity += q;
      else x.clientReports.set(k, { projectId, hour, reason, category, quantity: q });
    }
  }
  return null;
}

const hex = (v: unknown): string | null => {
  if (typeof v !== 'string') return null;
  const s = v.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : null;
};
const text = (v: unknown, max: number): string | null => {
  const s = str(v);
  return s?.trim() ? clean(s).slice(0, max) : null;
};

export function parseUserReport(j: unknown): { eventId: string | null; name: string | null; email: string | null; comments: string } | string {
  if (!isObj(j)) return 'user_report is not a JSON object';
  const comments = text(j.comments, 4096);
  if (!comments) return 'user_report without comments';
  return { eventId: hex(j.event_id), name: text(j.name, 200), email: text(j.email, 200), comments };
}

export function parseFeedback(ev: Json): { eventId: string | null; name: string | null; email: string | null; comments: string; url: string | null } | string {
  const fb = isObj(ev.contexts) && isObj(ev.contexts.feedback) ? ev.contexts.feedback : null;
  if (!fb) return 'feedback without contexts.feedback';
  const comments = text(fb.message, 4096);
  if (!comments) return 'feedback without a message';
  return { eventId: hex(fb.associated_event_id), name: text(fb.name, 200), email: text(fb.contact_email, 200), comments, url: text(fb.url, 2000) };
}

/** A monitor config is a few levels deep (schedule, margins, thresholds); this many is refused. */
const MAX_CONFIG_DEPTH = 32;

/** Whether `v` nests objects or arrays deeper than `max` levels (iterative: the point is to not overflow the stack). */
function deeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) return true;
    for (const y of Array.isArray(x) ? x : Object.values(x)) stack.push([y, d + 1]);
  }
  return false;
}

export function parseCheckIn(j: unknown): Omit<Extras['checkIns'][number], 'projectId' | 'archiveId' | 'itemIndex' | 'receivedAt'> | string {
  if (!isObj(j)) return 'check_in is not a JSON object';
  // Stored as jsonb: a config nested thousands deep overflowed JSON.stringify and failed the batch.
  if (deeperThan(j.monitor_config, MAX_CONFIG_DEPTH)) return `check_in monitor_config nested deeper than ${MAX_CONFIG_DEPTH} levels`;
  const slug = text(j.monitor_slug, 200);
  if (!slug) return 'check_in without monitor_slug';
  const status = text(j.status, 20);
  if (!status || !['in_progress', 'ok', 'error'].includes(status)) return `check_in with invalid status ${JSON.stringify(j.status)}`;
  return {
    checkInId: hex(j.check_in_id),
    slug,
    status,
    duration: typeof j.duration === 'number' && Number.isFinite(j.duration) ? j.duration : null,
    environment: text(j.environment, 200),
    release: text(j.release, 200),
    config: isObj(j.monitor_config) ? j.monitor_config : null,
  };
}

/**
 * The batch's hourly counters (client reports, items per category): rows every batch of the same
 * hour writes, so they are written just before COMMIT (a row a transaction updated stays locked
 * until it commits; written mid-batch, the item count row held the other lane ~3 ms per batch).
 */
export async function storeExtraCounts(client: pg.ClientBase, x: Extras): Promise<void> {
  const cr = [...x.clientReports.values()].sort((a, b) => a.projectId - b.projectId || a.hour - b.hour || (a.reason + a.category < b.reason + b.category ? -1 : 1));
  if (cr.length) {
    await client.query(
      `INSERT INTO client_report_hourly (project_id, hour, reason, category, quantity)
       SELECT p, to_timestamp(h), r, c, q FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::bigint[]) AS v(p, h, r, c, q)
       ON CONFLICT (project_id, hour, reason, category) DO UPDATE SET quantity = client_report_hourly.quantity + EXCLUDED.quantity`,
      [cr.map((c) => c.projectId), cr.map((c) => c.hour), cr.map((c) => c.reason), cr.map((c) => c.category), cr.map((c) => c.quantity)]);
  }
  const ct = [...x.counts.values()].sort((a, b) => a.projectId - b.projectId || a.hour - b.hour || (a.category < b.category ? -1 : 1));
  if (ct.length) {
    await client.query(
      `INSERT INTO item_count_hourly (project_id, hour, category, items, bytes)
       SELECT p, to_timestamp(h), c, n, b FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::bigint[], $5::bigint[]) AS v(p, h, c, n, b)
       ON CONFLICT (project_id, hour, category) DO UPDATE SET items = item_count_hourly.items + EXCLUDED.items, bytes = item_count_hourly.bytes + EXCLUDED.bytes`,
      [ct.map((c) => c.projectId), ct.map((c) => c.hour), ct.map((c) => c.category), ct.map((c) => c.items), ct.map((c) => c.bytes)]);
  }
}

export async function storeExtras(client: pg.ClientBase, x: Extras): Promise<void> {
  if (x.invalid.length) {
    const v = x.invalid;
    await client.query(
      `INSERT INTO item_invalid (project_id, archive_id, item_index, received_at, item_type, reason)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::timestamptz[], $5::text[], $6::text[]) ON CONFLICT DO NOTHING`,
      [v.map((i) => i.projectId), v.map((i) => i.archiveId), v.map((i) => i.itemIndex), v.map((i) => i.receivedAt), v.map((i) => clean(i.type).slice(0, 50)), v.map((i) => clean(i.reason).slice(0, 1000))]);
  }
  if (x.userReports.length) {
    const v = x.userReports;
    await client.query(
      `INSERT INTO user_report (project_id, archive_id, item_index, received_at, event_id, feedback_id, kind, name, email, comments, url)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::timestamptz[], $5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
       ON CONFLICT DO NOTHING`,
      [v.map((i) => i.projectId), v.map((i) => i.archiveId), v.map((i) => i.itemIndex), v.map((i) => i.receivedAt), v.map((i) => i.eventId), v.map((i) => i.feedbackId),
        v.map((i) => i.kind), v.map((i) => i.name), v.map((i) => i.email), v.map((i) => i.comments), v.map((i) => i.url)]);
  }
  if (x.attachments.length) {
    const v = x.attachments;
    await client.query(
      `INSERT INTO attachment (project_id, archive_id, item_index, received_at, event_id, filename, content_type, attachment_type, size)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::timestamptz[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::bigint[])
       ON CONFLICT DO NOTHING`,
      [v.map((i) => i.projectId), v.map((i) => i.archiveId), v.map((i) => i.itemIndex), v.map((i) => i.receivedAt), v.map((i) => i.eventId),
        v.map((i) => i.filename), v.map((i) => i.contentType), v.map((i) => i.attachmentType), v.map((i) => i.size)]);
  }
  if (x.checkIns.length) {
    const v = x.checkIns;
    await client.query(
      `INSERT INTO check_in (project_id, archive_id, item_index, received_at, check_in_id, monitor_slug, status, duration, environment, release, monitor_config)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::timestamptz[], $5::uuid[], $6::text[], $7::text[], $8::float8[], $9::text[], $10::text[], $11::jsonb[])
       ON CONFLICT DO NOTHING`,
      [v.map((i) => i.projectId), v.map((i) => i.archiveId), v.map((i) => i.itemIndex), v.map((i) => i.receivedAt), v.map((i) => i.checkInId),
        v.map((i) => i.slug), v.map((i) => i.status), v.map((i) => i.duration), v.map((i) => i.environment), v.map((i) => i.release),
        v.map((i) => (i.config ? clean(JSON.stringify(i.config)) : null))]);
  }
}

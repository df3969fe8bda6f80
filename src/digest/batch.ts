import type pg from 'pg';
import { normalizeEvent, type NormalizedEvent } from '../protocol/event.js';
import { claimBatch, deleteQueueRows, failQueueRows, type QueueRow } from '../queue/claim.js';
import { DimCache, DimRequest } from './dims.js';
import { eventFields } from './event-fields.js';
import { requestDims, storeEvents, type EventWork } from './events.js';
import { addClientReport, addCount, newExtras, parseCheckIn, parseFeedback, parseUserReport, storeExtras, type Extras } from './extras.js';
import { groupEvent } from './group.js';
import { fallbackEventId, parsePayload, PayloadError, type ArchiveRow, type Item, type ParsedPayload } from './payload.js';
import { parseAggregates, parseSession, requestSessionDims, SessionError, storeSessions, type SessionAggregate, type SessionUpdate } from './sessions.js';

// One digest batch, inside one transaction: claim queue rows (SKIP LOCKED), read their archive
// rows, parse → normalize → group in memory, then write every effect with a fixed number of
// multi-row statements, move unusable payloads to queue_error, delete the claimed rows and bump the
// `digested` counter. COMMIT makes all of it visible at once; any failure before COMMIT leaves
// nothing behind and the rows are claimed again later.

/** Workers hold this advisory lock shared per batch; `ruminate` takes it exclusively. */
export const DIGEST_LOCK = 7_310_224_002;

/** A batch that failed and was rolled back; `claimedIds` are the queue rows it had claimed. */
export class BatchError extends Error {
  constructor(readonly cause: Error, readonly claimedIds: number[]) {
    super(cause.message);
  }
  /** Connection trouble, deadlock, serialization failure, shutdown, lack of resources: try again later. */
  get transient(): boolean {
    const code = (this.cause as { code?: string }).code ?? '';
    if (/^(08|53|57P0|40001|40P01|55P03)/.test(code)) return true;
    if (!code && /connect|terminat|timeout|ECONN|EPIPE|socket/i.test(this.cause.message)) return true;
    return false;
  }
}

export interface BatchResult {
  claimed: number;
  failed: number;
  events: number;
}

export interface BatchOptions {
  batchSize: number;
  /** Largest decompressed payload (MAX_ENVELOPE_BYTES). */
  maxBytes: number;
  cache: DimCache;
}

interface Collected {
  events: EventWork[];
  sessions: SessionUpdate[];
  aggregates: SessionAggregate[];
  extras: Extras;
}

function handleItem(c: Collected, row: ArchiveRow, p: ParsedPayload, item: Item): void {
  const invalid = (reason: string): void => {
    c.extras.invalid.push({ projectId: row.project_id, archiveId: row.id, itemIndex: item.index, receivedAt: row.received_at, type: item.type, reason });
  };
  if (item.invalid) return invalid(item.invalid);
  const base = { projectId: row.project_id, archiveId: row.id, itemIndex: item.index, receivedAt: row.received_at };
  switch (item.type) {
    case 'event':
    case 'feedback': {
      let ev: NormalizedEvent;
      try {
        ev = normalizeEvent(item.json, { receivedAt: row.received_at, eventId: p.eventId, fallbackId: fallbackEventId(row, item.index), skipBreadcrumbs: true });
      } catch (e) {
        return invalid(`${item.type}: ${(e as Error).message}`);
      }
      if (item.type === 'feedback' || ev.type === 'feedback') {
        const fb = parseFeedback(ev);
        if (typeof fb === 'string') return invalid(fb);
        c.extras.userReports.push({ ...base, ...fb, feedbackId: ev.event_id, kind: 'feedback' });
        return;
      }
      if (ev.type === 'transaction') {
        addCount(c.extras, row.project_id, row.received_at, 'transaction', item.payload.length);
        return;
      }
      c.events.push({ ...base, ev, grouping: groupEvent(ev), fields: eventFields(ev, p.envelopeHeaders.sdk) });
      return;
    }
    case 'session':
      try {
        c.sessions.push(parseSession(item.json, row.project_id, row.received_at));
      } catch (e) {
        if (e instanceof SessionError) return invalid(e.message);
        throw e;
      }
      return;
    case 'sessions':
      try {
        c.aggregates.push(...parseAggregates(item.json, row.project_id));
      } catch (e) {
        if (e instanceof SessionError) return invalid(e.message);
        throw e;
      }
      return;
    case 'client_report': {
      const err = addClientReport(c.extras, row.project_id, row.received_at, item.json);
      if (err) invalid(err);
      return;
    }
    case 'user_report': {
      const ur = parseUserReport(item.json);
      if (typeof ur === 'string') return invalid(ur);
      c.extras.userReports.push({ ...base, ...ur, feedbackId: null, kind: 'user_report', url: null });
      return;
    }
    case 'attachment': {
      const h = item.headers;
      c.extras.attachments.push({
        ...base,
        eventId: p.eventId,
        filename: (typeof h.filename === 'string' && h.filename) || 'attachment',
        contentType: (typeof h.content_type === 'string' && h.content_type) || 'application/octet-stream',
        attachmentType: (typeof h.attachment_type === 'string' && h.attachment_type) || 'event.attachment',
        size: item.payload.length,
      });
      return;
    }
    case 'check_in': {
      const ci = parseCheckIn(item.json);
      if (typeof ci === 'string') return invalid(ci);
      c.extras.checkIns.push({ ...base, ...ci });
      return;
    }
    default:
      addCount(c.extras, row.project_id, row.received_at, item.type, item.payload.length, typeof item.headers.item_count === 'number' ? item.headers.item_count : 1);
  }
}

/** Runs one batch on `client` (no transaction open). Returns what it did; throws on database errors (rolled back). */
export async function digestBatch(client: pg.ClientBase, opts: BatchOptions): Promise<BatchResult> {
  await client.query('BEGIN');
  let dims: DimRequest | null = null;
  let claimedIds: number[] = [];
  try {
    const { rows: st } = await client.query<{ generation: number }>(
      'SELECT pg_advisory_xact_lock_shared($1), (SELECT generation FROM digest_state) AS generation', [DIGEST_LOCK]);
    // ruminate rebuilt the dimension tables: ids we remember are gone.
    if (st[0]!.generation !== opts.cache.generation) {
      opts.cache.clear();
      opts.cache.generation = st[0]!.generation;
    }
    const claimed = await claimBatch(client, opts.batchSize);
    claimedIds = claimed.map((r) => r.id);
    if (!claimed.length) {
      await client.query('COMMIT');
      return { claimed: 0, failed: 0, events: 0 };
    }
    const { rows: archives } = await client.query<ArchiveRow>(
      `SELECT a.project_id, a.id, a.kind, a.encoding, a.event_id, a.received_at, a.meta, a.payload
         FROM unnest($1::bigint[], $2::bigint[]) AS q(project_id, archive_id)
         JOIN archive a ON a.project_id = q.project_id AND a.id = q.archive_id`,
      [claimed.map((r) => r.project_id), claimed.map((r) => r.archive_id)]);
    const byKey = new Map(archives.map((a) => [`${a.project_id}/${a.id}`, a]));
    const c: Collected = { events: [], sessions: [], aggregates: [], extras: newExtras() };
    const failed: { row: QueueRow; error: string }[] = [];
    const done: number[] = [];
    // Received order, so that session updates and "first event" of an issue follow arrival.
    claimed.sort((a, b) => a.archive_id - b.archive_id);
    for (const q of claimed) {
      const row = byKey.get(`${q.project_id}/${q.archive_id}`);
      if (!row) {
        // The archive row is gone (deleted project or retention): nothing to digest.
        done.push(q.id);
        continue;
      }
      let parsed: ParsedPayload;
      try {
        parsed = parsePayload(row, opts.maxBytes);
      } catch (e) {
        if (e instanceof PayloadError) {
          failed.push({ row: q, error: e.message });
          continue;
        }
        throw e;
      }
      for (const item of parsed.items) handleItem(c, row, parsed, item);
      done.push(q.id);
    }

    dims = new DimRequest(opts.cache);
    for (const w of c.events) requestDims(dims, w);
    for (const s of c.sessions) requestSessionDims(dims, s);
    for (const a of c.aggregates) requestSessionDims(dims, a);
    await dims.resolve(client);

    let events = 0;
    const projects = [...new Set(c.events.map((w) => w.projectId))].sort((a, b) => a - b);
    for (const pid of projects) events += await storeEvents(client, dims, pid, c.events.filter((w) => w.projectId === pid));
    if (c.sessions.length || c.aggregates.length) await storeSessions(client, dims, c.sessions, c.aggregates);
    await storeExtras(client, c.extras);
    await failQueueRows(client, failed);
    await deleteQueueRows(client, done);
    await client.query(
      `INSERT INTO counter (name, slot, value) VALUES ('digested', $1, $2)
       ON CONFLICT (name, slot) DO UPDATE SET value = counter.value + EXCLUDED.value`,
      [Math.floor(Math.random() * 16), done.length]);
    await client.query('COMMIT');
    dims.commit();
    return { claimed: claimed.length, failed: failed.length, events };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw new BatchError(e as Error, claimedIds);
  }
}

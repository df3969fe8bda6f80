import { normalizeEvent, type NormalizedEvent } from '../protocol/event.js';
import { clean } from './dims.js';
import { eventFields } from './event-fields.js';
import type { EventWork } from './events.js';
import { addClientReport, addCount, newExtras, parseCheckIn, parseFeedback, parseUserReport, type Extras } from './extras.js';
import { groupForDigest } from './group.js';
import type { ProjectRules } from './project-rules.js';
import { fallbackEventId, parsePayload, PayloadError, type ArchiveRow, type Item, type ParsedPayload } from './payload.js';
import { parseAggregates, parseSession, SessionError, type SessionAggregate, type SessionUpdate } from './sessions.js';
import { needsSymbolication } from '../sourcemaps/symbolicate.js';

// The CPU half of a digest batch, pure and without database access: decompress and parse each
// archived payload, normalize and group its events, read its other items. The result is plain
// data (structured-clonable), so it can be computed in a worker thread (prepare-pool.ts) while
// the main thread writes another batch.

export interface Prepared {
  events: EventWork[];
  sessions: SessionUpdate[];
  aggregates: SessionAggregate[];
  extras: Extras;
  /** Archive rows (project_id/id) that could not be parsed at all, with the reason. */
  failed: { projectId: number; archiveId: number; error: string }[];
}

type Collected = Prepared;

/** Applies source maps to a batch's JavaScript events in place (src/sourcemaps/resolve.ts; it reads PostgreSQL). */
export type SymbolicateFn = (events: { projectId: number; ev: NormalizedEvent }[]) => Promise<void>;

/** A JavaScript event held back until its batch's source maps are looked up; its EventWork goes to events[index]. */
interface Deferred {
  index: number;
  row: ArchiveRow;
  item: Item;
  p: ParsedPayload;
  ev: NormalizedEvent;
}

/** Where an item came from, for the records of the rarer item types (events spell it out: see below). */
function base(row: ArchiveRow, item: Item): { projectId: number; archiveId: number; itemIndex: number; receivedAt: Date } {
  return { projectId: row.project_id, archiveId: row.id, itemIndex: item.index, receivedAt: row.received_at };
}

function handleItem(c: Collected, row: ArchiveRow, p: ParsedPayload, item: Item, rules: ProjectRules | undefined, deferred?: Deferred[]): void {
  const invalid = (reason: string): void => {
    c.extras.invalid.push({ projectId: row.project_id, archiveId: row.id, itemIndex: item.index, receivedAt: row.received_at, type: item.type, reason });
  };
  if (item.invalid) return invalid(item.invalid);
  switch (item.type) {
    case 'event':
    case 'feedback': {
      let ev: NormalizedEvent;
      try {
        ev = normalizeEvent(item.json, { receivedAt: row.received_at, eventId: p.eventId, fallbackId: () => fallbackEventId(row, item.index), skipBreadcrumbs: true });
      } catch (e) {
        // A RangeError here is JSON nested too deeply for the normalizer's recursion (thousands of levels).
        return invalid(`${item.type}: ${e instanceof RangeError ? 'JSON nested too deeply' : (e as Error).message}`);
      }
      if (item.type === 'feedback' || ev.type === 'feedback') {
        const fb = parseFeedback(ev);
        if (typeof fb === 'string') return invalid(fb);
        c.extras.userReports.push({ ...base(row, item), ...fb, feedbackId: ev.event_id, kind: 'feedback' });
        return;
      }
      if (ev.type === 'transaction') {
        addCount(c.extras, row.project_id, row.received_at, 'transaction', item.payload.length);
        return;
      }
      // Source maps first (grouping must see the original frames): only JavaScript events wait.
      if (deferred && needsSymbolication(ev)) {
        deferred.push({ index: c.events.length, row, item, p, ev });
        c.events.push(null as unknown as EventWork);
        return;
      }
      c.events.push(eventWork(row, item, p, ev, rules));
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
        c.aggregates.push(...parseAggregates(item.json, row.project_id, row.received_at));
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
      c.extras.userReports.push({ ...base(row, item), ...ur, feedbackId: null, kind: 'user_report', url: null });
      return;
    }
    case 'attachment': {
      const h = item.headers;
      c.extras.attachments.push({
        ...base(row, item),
        eventId: p.eventId,
        filename: (typeof h.filename === 'string' && clean(h.filename)) || 'attachment',
        contentType: (typeof h.content_type === 'string' && clean(h.content_type)) || 'application/octet-stream',
        attachmentType: (typeof h.attachment_type === 'string' && clean(h.attachment_type)) || 'event.attachment',
        size: item.payload.length,
      });
      return;
    }
    case 'check_in': {
      const ci = parseCheckIn(item.json);
      if (typeof ci === 'string') return invalid(ci);
      c.extras.checkIns.push({ ...base(row, item), ...ci });
      return;
    }
    default:
      addCount(c.extras, row.project_id, row.received_at, clean(item.type), item.payload.length, typeof item.headers.item_count === 'number' ? item.headers.item_count : 1);
  }
}

function eventWork(row: ArchiveRow, item: Item, p: ParsedPayload, ev: NormalizedEvent, rules: ProjectRules | undefined): EventWork {
  const grouping = groupForDigest(ev, rules);
  // Spelled out, not spread from base(): the prepare thread is the digest's bottleneck, and a
  // spread in this per-event path cost ~5 µs per event (profile of the bench's worker).
  return {
    projectId: row.project_id,
    archiveId: row.id,
    itemIndex: item.index,
    receivedAt: row.received_at,
    ev: { event_id: ev.event_id, timestamp: ev.timestamp, type: ev.type, level: ev.level, platform: ev.platform, title: ev.title, culprit: ev.culprit, metadata: ev.metadata },
    grouping,
    fields: eventFields(ev, p.envelopeHeaders.sdk),
  };
}

/**
 * prepareBatch with source maps: JavaScript events are set aside, symbolicated together (one set of
 * lookups for the batch), then grouped. Without `symbolicate`, or without JavaScript events, it is
 * prepareBatch.
 */
export async function prepareBatchWithMaps(rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules>, symbolicate?: SymbolicateFn): Promise<Prepared> {
  if (!symbolicate) return prepareBatch(rows, maxBytes, rules);
  const deferred: Deferred[] = [];
  const c = prepareBatch(rows, maxBytes, rules, deferred);
  if (!deferred.length) return c;
  await symbolicate(deferred.map((d) => ({ projectId: d.row.project_id, ev: d.ev })));
  for (const d of deferred) c.events[d.index] = eventWork(d.row, d.item, d.p, d.ev, rules[d.row.project_id]);
  return c;
}

/** Prepares archive rows (in received order) for storing. Never touches the database. */
export function prepareBatch(rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules> = {}, deferred?: Deferred[]): Prepared {
  const c: Prepared = { events: [], sessions: [], aggregates: [], extras: newExtras(), failed: [] };
  for (const row of rows) {
    let parsed: ParsedPayload;
    try {
      parsed = parsePayload(row, maxBytes);
    } catch (e) {
      if (e instanceof PayloadError) {
        c.failed.push({ projectId: row.project_id, archiveId: row.id, error: e.message });
        continue;
      }
      throw e;
    }
    for (const item of parsed.items) handleItem(c, row, parsed, item, rules[row.project_id], deferred);
  }
  return c;
}

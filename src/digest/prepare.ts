import { isObj, normalizeEvent, type NormalizedEvent } from '../protocol/event.js';
import { clean } from './dims.js';
import { eventFields } from './event-fields.js';
import type { EventWork } from './events.js';
import { addClientReport, addCount, newExtras, parseCheckIn, parseFeedback, parseUserReport, type Extras } from './extras.js';
import { groupForDigest } from './group.js';
import type { ProjectRules } from './project-rules.js';
import { fallbackEventId, parsePayload, type Item, type ParsedPayload } from './payload.js';
import { PayloadError } from '../archive/decode.js';
import type { ArchiveRow } from '../archive/row.js';
import { parseAggregates, parseSession, SessionError, type SessionAggregate, type SessionUpdate } from './sessions.js';
import { compressRewrite, rebuildPayload, type ArchiveRewrite } from './rewrite-payload.js';
import { EventScrubber } from '../scrub/event.js';
import { needsSymbolication } from '../sourcemaps/symbolicate.js';
import { compileScrub, DEFAULT_SCRUB, scrubsAnything, type CompiledScrub, type ScrubPlan } from '../scrub/settings.js';

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
  /** Archive rows to write back scrubbed (src/archive/rewrite.ts), in the batch's transaction. */
  rewrites: ArchiveRewrite[];
}

/** SCRUB_MAX_DEPTH's default, for callers without a plan (tests, tools). */
const DEFAULT_PLAN: ScrubPlan = { maxDepth: 100, projects: {} };

/** The default settings, compiled once per SCRUB_MAX_DEPTH: what the scrubber learns of keys (src/scrub/event.ts) then outlives a batch. */
const compiledDefaults = new Map<number, CompiledScrub>();

/** Item types that are events as SDKs send them (and so hold request data, extras, variables…). */
const SCRUBBED_TYPES = new Set(['event', 'transaction', 'feedback']);

/**
 * Data scrubbing of a parsed payload, before anything reads its items (src/scrub/event.ts): each
 * event item is scrubbed in place and, when something changed, its bytes become the scrubbed JSON.
 * The bytes of an event item that is not valid JSON cannot be scrubbed and are dropped (the item
 * stays, recorded as invalid). Returns the archive rewrite when the stored payload must change.
 */
function scrubPayload(row: ArchiveRow, p: ParsedPayload, c: CompiledScrub): ArchiveRewrite | null {
  if (!scrubsAnything(c)) return null;
  let dirty = false;
  for (const item of p.items) {
    if (!SCRUBBED_TYPES.has(item.type)) continue;
    if (item.invalid !== undefined) {
      if (c.data && item.payload.length) {
        item.payload = Buffer.alloc(0);
        dirty = true;
      }
      continue;
    }
    if (!isObj(item.json)) continue;
    if (new EventScrubber(c).scrub(item.json)) {
      item.payload = Buffer.from(JSON.stringify(item.json));
      dirty = true;
    }
  }
  const dropIp = c.ip && isObj(row.meta) && row.meta.ip !== undefined;
  if (!dirty && !dropIp) return null;
  const meta = { ...row.meta };
  if (c.ip) delete meta.ip;
  if (!dirty) return { projectId: row.project_id, archiveId: row.id, kind: null, payload: null, rawSize: null, meta };
  const { kind, body } = rebuildPayload(row, p);
  return { projectId: row.project_id, archiveId: row.id, kind, payload: compressRewrite(body), rawSize: body.length, meta };
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

function invalidItem(c: Collected, row: ArchiveRow, item: Item, reason: string): void {
  c.extras.invalid.push({ projectId: row.project_id, archiveId: row.id, itemIndex: item.index, receivedAt: row.received_at, type: item.type, reason });
}

function handleItem(c: Collected, row: ArchiveRow, p: ParsedPayload, item: Item, rules: ProjectRules | undefined, deferred?: Deferred[]): void {
  const invalid = (reason: string): void => invalidItem(c, row, item, reason);
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
      const work = eventWork(row, item, p, ev, rules);
      if (typeof work === 'string') return invalid(work);
      c.events.push(work);
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

/** Prepares archive rows (in received order) for storing. Never touches the database. */
/** The event's record for the main thread, grouped; a string when it cannot be (the reason it is invalid). */
function eventWork(row: ArchiveRow, item: Item, p: ParsedPayload, ev: NormalizedEvent, rules: ProjectRules | undefined): EventWork | string {
  let grouping: ReturnType<typeof groupForDigest>;
  try {
    grouping = groupForDigest(ev, rules);
  } catch (e) {
    // The grouping key's hash recurses too: a field grouping reads nested thousands of levels
    // (~6,000 on Node 22–26) is refused with its reason instead of failing the whole batch.
    if (e instanceof RangeError) return `${item.type}: JSON nested too deeply`;
    throw e;
  }
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
 * prepareBatch with source maps: JavaScript events are set aside (after data scrubbing), symbolicated
 * together (one set of lookups for the batch), then grouped. Without `symbolicate`, or without
 * JavaScript events, it is prepareBatch.
 */
export async function prepareBatchWithMaps(rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules>, scrub: ScrubPlan = DEFAULT_PLAN, symbolicate?: SymbolicateFn): Promise<Prepared> {
  if (!symbolicate) return prepareBatch(rows, maxBytes, rules, scrub);
  const deferred: Deferred[] = [];
  const c = prepareBatch(rows, maxBytes, rules, scrub, deferred);
  if (!deferred.length) return c;
  await symbolicate(deferred.map((d) => ({ projectId: d.row.project_id, ev: d.ev })));
  let refused = false;
  for (const d of deferred) {
    const work = eventWork(d.row, d.item, d.p, d.ev, rules[d.row.project_id]);
    if (typeof work === 'string') {
      invalidItem(c, d.row, d.item, work);
      refused = true;
    } else c.events[d.index] = work;
  }
  // A held-back event that turned out invalid leaves no record behind.
  if (refused) c.events = c.events.filter((e) => e !== null);
  return c;
}

export function prepareBatch(rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules> = {}, scrub: ScrubPlan = DEFAULT_PLAN, deferred?: Deferred[]): Prepared {
  const c: Prepared = { events: [], sessions: [], aggregates: [], extras: newExtras(), failed: [], rewrites: [] };
  const compiled = new Map<number, CompiledScrub>();
  let defaults = compiledDefaults.get(scrub.maxDepth);
  if (!defaults) compiledDefaults.set(scrub.maxDepth, (defaults = compileScrub(DEFAULT_SCRUB, scrub.maxDepth)));
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
    const own = scrub.projects[row.project_id];
    let cfg = defaults;
    if (own) {
      cfg = compiled.get(row.project_id) ?? compileScrub(own, scrub.maxDepth);
      compiled.set(row.project_id, cfg);
    }
    const rewrite = scrubPayload(row, parsed, cfg);
    if (rewrite) c.rewrites.push(rewrite);
    for (const item of parsed.items) handleItem(c, row, parsed, item, rules[row.project_id], deferred);
  }
  return c;
}

import type pg from 'pg';
import { clean, type DimRequest } from './dims.js';
import { GLOBAL_DIMS, PROJECT_DIMS, type EventFields } from './event-fields.js';
import { explainFromArchive } from './explain.js';
import { numArray, textArray } from '../storage/pg-array.js';
import { queueIssueAlerts } from '../alerts/queue.js';
import type { DigestGrouping } from './group.js';

// Stage "store" for events: reports, issues, issue hashes, users and tag counts of one batch, with
// a fixed number of statements per project per batch (not per event). Order and locking:
//   1. issues that do not exist yet are inserted (ON CONFLICT DO NOTHING: no lock on existing rows);
//   2. reports are inserted ON CONFLICT (project_id, event_id) DO NOTHING — RETURNING tells which
//      events are new, so a retried event is neither a second report nor counted twice;
//   3. only the new reports are counted: issue_user rows (new users), then one issue_delta row per
//      issue with its events, users, times and tag counts, which src/digest/fold.ts folds into the
//      issue and issue_tag rows.

export interface EventWork {
  projectId: number;
  archiveId: number;
  itemIndex: number;
  receivedAt: Date;
  /** What storing needs of the normalized event. */
  ev: { event_id: string; timestamp: number; type: string; level: string; platform: string; title: string; culprit: string; metadata: Record<string, unknown> };
  /** Grouping result; `explanation` is the JSON stored with a new issue (null: came from the cache, rebuilt if needed). */
  grouping: DigestGrouping;
  fields: EventFields;
  /** Set by requestDims: DimRequest references of the event's dimension values and tags. */
  refs?: Int32Array;
}

/** Where an event's dimension references live in EventWork.refs: global dims, then project dims, then tags. */
const G = GLOBAL_DIMS.length, P = PROJECT_DIMS.length;
const USER = G + PROJECT_DIMS.indexOf('user');

export function requestDims(req: DimRequest, w: EventWork): void {
  const { global, project, tags } = w.fields;
  const refs = new Int32Array(G + P + tags.length / 2);
  let i = 0;
  for (let k = 0; k < G; k++) refs[i++] = req.refGlobal(GLOBAL_DIMS[k]!, global[k] ?? null);
  for (let k = 0; k < P; k++) refs[i++] = req.refProject(w.projectId, PROJECT_DIMS[k]!, project[k] ?? null);
  for (let t = 0; t < tags.length; t += 2) refs[i++] = req.refTag(w.projectId, tags[t]!, tags[t + 1]!);
  w.refs = refs;
}

/** The tag value ids of an event (after DimRequest.resolve). */
function tagIds(dims: DimRequest, w: EventWork): number[] {
  const out: number[] = [];
  for (let i = G + P; i < w.refs!.length; i++) {
    const id = dims.idOf(w.refs![i]!);
    if (id !== null) out.push(id);
  }
  return out;
}

const json = (v: unknown): string => clean(JSON.stringify(v ?? null));
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** What a batch still has to count once everything else is written (see countIssues). */
export interface IssueCounts {
  projectId: number;
  /** new reports */
  fresh: number;
  /** issues this batch made for them */
  created: number;
  run(client: pg.ClientBase): Promise<void>;
}

/**
 * Stores the events of one project: issues, hashes and reports. The counts (issue_user rows, the
 * issues' deltas) are returned to be written last, just before COMMIT: issue_user rows are shared by
 * every batch with the same user of the same issue, and a row a transaction inserted keeps others
 * that insert it waiting until it commits. The issue and issue_tag rows themselves are written by
 * the fold (src/digest/fold.ts), one transaction at a time.
 */
export async function storeEvents(client: pg.ClientBase, dims: DimRequest, projectId: number, all: EventWork[]): Promise<IssueCounts> {
  const none: IssueCounts = { projectId, fresh: 0, created: 0, run: async () => {} };
  // One report per event id: within the batch the first occurrence wins (later ones are retries).
  const seen = new Set<string>();
  const works = all.filter((w) => (seen.has(w.ev.event_id) ? false : (seen.add(w.ev.event_id), true)));
  if (!works.length) return none;

  // --- 1. issue of each event: a known hash (any of its hashes) or a new issue keyed by the primary hash
  const allHashes = [...new Set(works.flatMap((w) => w.grouping.hashes))];
  const { rows: known } = await client.query<{ hash: string; issue_id: number }>({ name: 'digest-hash-lookup', text: 'SELECT h.hash, h.issue_id FROM unnest($2::text[]) AS v(hash) JOIN issue_hash h ON h.project_id = $1 AND h.hash = v.hash', values: [projectId, textArray(allHashes)] });
  const hashIssue = new Map(known.map((r) => [r.hash, r.issue_id]));
  const issueOf = new Map<EventWork, number>();
  const newByHash = new Map<string, EventWork>();
  for (const w of works) {
    const hit = w.grouping.hashes.find((h) => hashIssue.has(h));
    if (hit !== undefined) issueOf.set(w, hashIssue.get(hit)!);
    else {
      // The issue's first event (title, culprit, grouping explanation): the first received.
      if (!newByHash.has(w.grouping.primaryHash)) newByHash.set(w.grouping.primaryHash, w);
    }
  }
  let created = 0;
  if (newByHash.size) {
    // A fingerprint merged into another issue (src/api/queries/merge.ts) is filed under that issue's
    // primary hash: after `ruminate` (issue_hash rebuilt from nothing) or once the issue is gone.
    // Read only here, for the rare event that would make a new issue.
    const { rows: merged } = await client.query<{ hash: string; target_hash: string }>({ name: 'digest-merge-lookup', text: 'SELECT hash, target_hash FROM issue_merge WHERE project_id = $1 AND hash = ANY($2::text[])', values: [projectId, textArray([...newByHash.keys()])] });
    const target = new Map(merged.map((r) => [r.hash, r.target_hash]));
    const keyOf = (w: EventWork) => target.get(w.grouping.primaryHash) ?? w.grouping.primaryHash;
    const firsts = new Map<string, EventWork>();
    for (const w of newByHash.values()) if (!firsts.has(keyOf(w))) firsts.set(keyOf(w), w);
    const made = await createIssues(client, projectId, [...firsts].map(([key, w]) => ({ key, w })));
    for (const w of works) if (!issueOf.has(w)) issueOf.set(w, made.get(keyOf(w))!);
    created = firsts.size;
  }

  // Every hash → issue (primary and secondary), so later events with any of them find the issue.
  const hashRows = new Map<string, [number, string]>();
  for (const w of works) for (const h of w.grouping.hashes) if (!hashIssue.has(h) && !hashRows.has(h)) hashRows.set(h, [issueOf.get(w)!, w.grouping.config]);
  if (hashRows.size) {
    const hs = [...hashRows.keys()].sort();
    await client.query({ name: 'digest-hash-insert', text: `INSERT INTO issue_hash (project_id, hash, issue_id, grouping_config)
       SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[]) ON CONFLICT DO NOTHING`, values: [projectId, textArray(hs), numArray(hs.map((h) => hashRows.get(h)![0])), textArray(hs.map((h) => hashRows.get(h)![1]))] });
  }

  // --- 2. reports
  const { rows: inserted } = await client.query<{ event_id: string }>({ name: 'digest-report-insert', text: REPORT_INSERT, values: [projectId, ...reportColumns(works, issueOf, dims)] });
  const fresh = new Set(inserted.map((r) => r.event_id.replace(/-/g, '')));
  const news = works.filter((w) => fresh.has(w.ev.event_id));
  if (!news.length) return none;

  // --- 3. counters, from the new reports only
  const agg = countNew(news, issueOf, dims);
  const issueIds = [...agg.keys()].sort((a, b) => a - b);
  return { projectId, fresh: news.length, created, run: (c) => countIssues(c, projectId, issueIds, agg) };
}

// The report insert and its columns, the counting of new reports: small functions of their own, so
// that V8 compiles them (and, after a deoptimization, recompiles them) apart from storeEvents. As one
// function, storeEvents was recompiled 8 times in a 50,000-event drain, 145 ms of compiler time each.
const DIM_COLS = [...GLOBAL_DIMS, ...PROJECT_DIMS].map((k) => `${k}_id`);
const REPORT_TYPES = ['bigint', 'bigint', 'float8', 'float8', 'uuid', 'smallint', 'boolean', ...DIM_COLS.map(() => 'int'), 'text', 'text', 'text', 'uuid'];
const REPORT_NAMES = ['issue_id', 'archive_id', 'ts', 'received', 'event_id', 'item_index', 'handled', ...DIM_COLS, 'tag_ids', 'message', 'exception_value', 'primary_hash'];
const REPORT_INSERT = `INSERT INTO report (project_id, issue_id, archive_id, timestamp, received_at, event_id, item_index, handled, ${DIM_COLS.join(', ')}, tag_ids, message, exception_value, primary_hash)
     SELECT $1, issue_id, archive_id, to_timestamp(ts), to_timestamp(received), event_id, item_index, handled, ${DIM_COLS.join(', ')}, tag_ids::int[], message, exception_value, primary_hash
       FROM unnest(${REPORT_TYPES.map((t, i) => `$${i + 2}::${t}[]`).join(', ')}) AS v(${REPORT_NAMES.join(', ')})
     ON CONFLICT (project_id, event_id) DO NOTHING
     RETURNING event_id`;

function reportColumns(works: EventWork[], issueOf: Map<EventWork, number>, dims: DimRequest): string[] {
  return [
    numArray(works.map((w) => issueOf.get(w))),
    numArray(works.map((w) => w.archiveId)),
    numArray(works.map((w) => w.ev.timestamp)),
    numArray(works.map((w) => w.receivedAt.getTime() / 1000)),
    textArray(works.map((w) => w.ev.event_id)),
    numArray(works.map((w) => w.itemIndex)),
    numArray(works.map((w) => w.fields.handled)),
    ...Array.from({ length: G + P }, (_, i) => numArray(works.map((w) => dims.idOf(w.refs![i]!)))),
    textArray(works.map((w) => `{${tagIds(dims, w).join(',')}}`)),
    textArray(works.map((w) => w.fields.message)),
    textArray(works.map((w) => w.fields.exceptionValue)),
    // 32 hex digits, which PostgreSQL reads as a uuid (16 bytes stored)
    textArray(works.map((w) => w.grouping.primaryHash)),
  ];
}

/** Per issue: the new reports' count, first/last seen, last event, newest receive time, users and tag counts. */
function countNew(news: EventWork[], issueOf: Map<EventWork, number>, dims: DimRequest): Map<number, Agg> {
  const agg = new Map<number, Agg>();
  for (const w of news) {
    const id = issueOf.get(w)!;
    let a = agg.get(id);
    const ts = w.ev.timestamp;
    // Times start as NaN, a double: a field V8 first sees holding an integer is laid out for small
    // integers and changes layout (deoptimizing the code that uses it) when a fractional time comes.
    if (!a) agg.set(id, (a = { n: 0, first: NaN, last: NaN, lastEvent: w.ev.event_id, received: NaN, users: new Set(), tags: new Map() }));
    a.n++;
    if (!(ts >= a.first)) a.first = ts;
    if (!(ts < a.last)) {
      a.last = ts;
      a.lastEvent = w.ev.event_id;
    }
    const received = w.receivedAt.getTime() / 1000;
    if (!(received <= a.received)) a.received = received;
    const u = dims.idOf(w.refs![USER]!);
    if (u !== null) a.users.add(u);
    for (const t of tagIds(dims, w)) {
      const e = a.tags.get(t);
      if (!e) {
        const fresh = { n: 1, first: NaN, last: NaN };
        fresh.first = fresh.last = ts;
        a.tags.set(t, fresh);
      } else {
        e.n++;
        e.first = Math.min(e.first, ts);
        e.last = Math.max(e.last, ts);
      }
    }
  }
  return agg;
}

interface Agg { n: number; first: number; last: number; lastEvent: string; received: number; users: Set<number>; tags: Map<number, { n: number; first: number; last: number }> }

/** The batch's counts: issue_user rows (sorted by key, so two transactions never wait on each other in opposite orders), then the issues' deltas. */
async function countIssues(client: pg.ClientBase, projectId: number, issueIds: number[], agg: Map<number, Agg>): Promise<void> {
  const newUsers = new Map<number, number>();
  const uIssue: number[] = [], uUser: number[] = [];
  for (const id of issueIds) for (const u of [...agg.get(id)!.users].sort((a, b) => a - b)) (uIssue.push(id), uUser.push(u));
  if (uIssue.length) {
    const { rows } = await client.query<{ issue_id: number }>({ name: 'digest-issue-user', text: `INSERT INTO issue_user (project_id, issue_id, user_id) SELECT $1, * FROM unnest($2::bigint[], $3::int[])
       ON CONFLICT DO NOTHING RETURNING issue_id`, values: [projectId, numArray(uIssue), numArray(uUser)] });
    for (const r of rows) newUsers.set(r.issue_id, (newUsers.get(r.issue_id) ?? 0) + 1);
  }

  await client.query({ name: 'digest-issue-delta', text: `INSERT INTO issue_delta (project_id, issue_id, events, users, first_seen, last_seen, last_event_id, last_received, tag_ids, tag_counts, tag_first, tag_last)
     SELECT $1, i, n, u, f, l, e, r, t::int[], tn::int[], tf::float8[], tl::float8[]
       FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::float8[], $6::float8[], $7::uuid[], $8::float8[], $9::text[], $10::text[], $11::text[], $12::text[]) AS v(i, n, u, f, l, e, r, t, tn, tf, tl)`,
  values: [projectId, ...deltaColumns(issueIds, agg, newUsers)] });
}

/** One delta row per issue (src/digest/fold.ts folds them into issue and issue_tag): tag counts as per-issue array literals, like report.tag_ids. */
function deltaColumns(issueIds: number[], agg: Map<number, Agg>, newUsers: Map<number, number>): string[] {
  const lit = (xs: number[]) => `{${xs.join(',')}}`;
  const tIds: string[] = [], tN: string[] = [], tFirst: string[] = [], tLast: string[] = [];
  for (const id of issueIds) {
    const tags = agg.get(id)!.tags;
    const keys = [...tags.keys()];
    tIds.push(lit(keys));
    tN.push(lit(keys.map((t) => tags.get(t)!.n)));
    tFirst.push(lit(keys.map((t) => tags.get(t)!.first)));
    tLast.push(lit(keys.map((t) => tags.get(t)!.last)));
  }
  const as = issueIds.map((id) => agg.get(id)!);
  return [numArray(issueIds), numArray(as.map((a) => a.n)), numArray(issueIds.map((id) => newUsers.get(id) ?? 0)), numArray(as.map((a) => a.first)), numArray(as.map((a) => a.last)), textArray(as.map((a) => a.lastEvent)), numArray(as.map((a) => a.received)), textArray(tIds), textArray(tN), textArray(tFirst), textArray(tLast)];
}

/** createIssues' array parameters after the project id, in order (metadata and explanations follow as JSON arrays). */
const ISSUE_ARRAYS = ['bigint', 'bigint', 'float8', 'float8', 'uuid', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'text', 'text', 'text', 'text', 'text', 'text'];

/**
 * Inserts issues for hashes never seen in this project; returns issue key → issue id. The key is the
 * primary hash of the event, or of the issue a merge filed its fingerprint under (issue_merge).
 */
async function createIssues(client: pg.ClientBase, projectId: number, keyed: { key: string; w: EventWork }[]): Promise<Map<string, number>> {
  const keys = new Map(keyed.map((f) => [f.w, f.key]));
  const K = (w: EventWork) => keys.get(w)!;
  const firsts = keyed.map((f) => f.w).sort((a, b) => (K(a) < K(b) ? -1 : 1));
  const hashes = firsts.map((w) => K(w));
  const out = new Map<string, number>();
  const { rows: existing } = await client.query<{ id: number; primary_hash: string }>(
    'SELECT id, primary_hash FROM issue WHERE project_id = $1 AND primary_hash = ANY($2::text[])', [projectId, hashes]);
  for (const r of existing) out.set(r.primary_hash, r.id);
  let todo = firsts.filter((w) => !out.has(K(w)));
  if (!todo.length) return out;
  // Issues rebuilt by `ruminate` get their id, short id and status back.
  const { rows: kept } = await client.query<{ primary_hash: string; id: number; short_id: number; status: string; substatus: string | null; resolved_at: Date | null; status_changed_at: Date | null; snooze: unknown; resolution: unknown }>(
    'SELECT * FROM issue_keep WHERE project_id = $1 AND primary_hash = ANY($2::text[])', [projectId, todo.map((w) => K(w))]);
  const keep = new Map(kept.map((k) => [k.primary_hash, k]));
  const needShort = todo.filter((w) => !keep.has(K(w))).length;
  let nextShort = 0;
  if (needShort) {
    const { rows } = await client.query<{ first: number }>(
      'UPDATE project SET next_short_id = next_short_id + $2 WHERE id = $1 RETURNING next_short_id - $2 AS first', [projectId, needShort]);
    nextShort = rows[0]!.first;
  }
  const explanations: string[] = [];
  for (const w of todo) explanations.push(w.grouping.explanation ?? await explainFromArchive(client, projectId, w.archiveId, w.itemIndex, w.grouping));
  const ids: (number | null)[] = [], shorts: number[] = [], status: string[] = [], sub: (string | null)[] = [], resolved: (Date | null)[] = [], changed: (Date | null)[] = [];
  for (const w of todo) {
    const k = keep.get(K(w));
    ids.push(k?.id ?? null);
    shorts.push(k ? k.short_id : nextShort++);
    status.push(k?.status ?? 'unresolved');
    sub.push(k ? k.substatus : 'new');
    resolved.push(k?.resolved_at ?? null);
    changed.push(k?.status_changed_at ?? null);
  }
  const { rows: ins } = await client.query<{ id: number; primary_hash: string }>(
    `INSERT INTO issue (project_id, id, short_id, first_seen, last_seen, last_received, first_event_id, last_event_id,
                        status, substatus, resolved_at, status_changed_at, primary_hash, grouping_config, type, level, platform,
                        title, culprit, metadata, grouping)
     SELECT $1, coalesce(id, nextval(pg_get_serial_sequence('issue', 'id'))), short_id, to_timestamp(ts), to_timestamp(ts), to_timestamp(r), e, e,
            status, substatus, resolved_at, changed, h, cfg, type, level, platform, title, culprit, metadata, grouping
       FROM ROWS FROM (${ISSUE_ARRAYS.map((t, i) => `unnest($${i + 2}::${t}[])`).join(', ')},
                       jsonb_array_elements($${ISSUE_ARRAYS.length + 2}::jsonb), jsonb_array_elements($${ISSUE_ARRAYS.length + 3}::jsonb))
            AS v(id, short_id, ts, r, e, status, substatus, resolved_at, changed, h, cfg, type, level, platform, title, culprit, metadata, grouping)
     ON CONFLICT (project_id, primary_hash) DO NOTHING
     RETURNING id, primary_hash`,
    // Array literals built here (src/storage/pg-array.ts), and the explanations (JSON text already, ~20 KB each)
    // joined into one JSON array as they are: quoting them for a text[] literal cost ~100 µs each
    // (every quote escaped) and was the main thread's largest allocation while a backlog made issues.
    [projectId, numArray(ids), numArray(shorts), numArray(todo.map((w) => w.ev.timestamp)), numArray(todo.map((w) => w.receivedAt.getTime() / 1000)), textArray(todo.map((w) => w.ev.event_id)),
      textArray(status), textArray(sub), textArray(resolved.map(iso)), textArray(changed.map(iso)), textArray(todo.map((w) => K(w))), textArray(todo.map((w) => w.grouping.config)),
      textArray(todo.map((w) => w.ev.type)), textArray(todo.map((w) => w.ev.level)), textArray(todo.map((w) => w.ev.platform)),
      textArray(todo.map((w) => clean(w.ev.title))), textArray(todo.map((w) => clean(w.ev.culprit))),
      json(todo.map((w) => w.ev.metadata ?? null)), `[${explanations.map(clean).join(',')}]`]);
  for (const r of ins) out.set(r.primary_hash, r.id);
  // tag filters of 'new' rules look at the issue's first event (its tags are folded into issue_tag later)
  const created = ins.filter((r) => !keep.has(r.primary_hash));
  const firstTags = new Map<number, Record<string, string>>();
  if (created.length) {
    const byHash = new Map(todo.map((w) => [K(w), w]));
    for (const r of created) {
      const t = byHash.get(r.primary_hash)?.fields.tags ?? [];
      const o: Record<string, string> = {};
      for (let k = 0; k < t.length; k += 2) o[t[k]!] = t[k + 1]!;
      firstTags.set(r.id, o);
    }
  }
  await queueIssueAlerts(client, projectId, 'new', created.map((r) => r.id), firstTags);
  // A kept issue that was ignored with conditions (a snooze) gets them back too.
  const snoozed = kept.filter((k) => k.snooze).map((k) => k.primary_hash);
  if (snoozed.length) {
    await client.query(
      `UPDATE issue i SET snooze_until = (k.snooze->>'until')::timestamptz, snooze_count = (k.snooze->>'count')::bigint,
              snooze_window = (k.snooze->>'window')::interval, snooze_users = (k.snooze->>'users')::bigint,
              snooze_base_events = (k.snooze->>'base_events')::bigint, snooze_base_users = (k.snooze->>'base_users')::bigint,
              snooze_details = k.snooze->'details'
         FROM issue_keep k
        WHERE k.project_id = $1 AND k.primary_hash = ANY($2::text[]) AND i.project_id = k.project_id AND i.id = k.id AND i.status = 'ignored'`,
      [projectId, snoozed]);
  }
  // …and one resolved in a release, its release (migrations/0048).
  const inRelease = kept.filter((k) => k.resolution).map((k) => k.primary_hash);
  if (inRelease.length) {
    await client.query(
      `UPDATE issue i SET resolved_in_release = k.resolution->>'release', resolved_next = (k.resolution->>'next')::boolean
         FROM issue_keep k
        WHERE k.project_id = $1 AND k.primary_hash = ANY($2::text[]) AND i.project_id = k.project_id AND i.id = k.id AND i.status = 'resolved'`,
      [projectId, inRelease]);
  }
  todo = todo.filter((w) => !out.has(K(w)));
  if (todo.length) {
    // Created by a concurrent worker after our first look (its short id number is simply skipped).
    const { rows } = await client.query<{ id: number; primary_hash: string }>(
      'SELECT id, primary_hash FROM issue WHERE project_id = $1 AND primary_hash = ANY($2::text[])', [projectId, todo.map((w) => K(w))]);
    for (const r of rows) out.set(r.primary_hash, r.id);
  }
  return out;
}

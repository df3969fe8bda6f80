import type pg from 'pg';
import { ISSUE_CHILD_TABLES } from '../../storage/issue-children.js';
import { pruneSourcemaps } from '../../sourcemaps/store.js';
import { deletePayloads, NOT_QUEUED, type Deleted } from './delete-payloads.js';
import { DELETION_KIND, resumeProjectDeletion } from '../../storage/project-delete.js';
import { retireDictionaries } from '../dictionaries.js';

// The kinds of retention, each one bounded batch of SQL. A pass (pass.ts) runs each kind's batches
// until one reports that nothing more is due. To add a kind, add an
// entry here: a name (it appears in retention_deletion, the log and the CLI) and its batch.
//
// Ages count from the receive time of the payload (`archive.received_at`, through the archive's
// (project_id, received_at) index; the hour of an hourly count), and for events also from their own
// timestamp (`event-age`), as Sentry's retention does: an event sent late, whose timestamp is older
// than its receipt (by at most 30 days: docs/SCHEMA.md), goes when its timestamp is past the cutoff.

export interface KindContext {
  /** RETENTION_DAYS: for projects without their own. */
  defaultDays: number;
  batchSize: number;
  /** Payloads the budget still wants gone in this pass (budget kind only). */
  budgetPayloads: number;
  /** SOURCEMAP_RETENTION_DAYS: source-map bundles no event used for this long go. */
  sourcemapDays: number;
}

export interface BatchResult {
  deleted: Deleted[];
  /** Whether another batch may find more. */
  more: boolean;
}

export interface RetentionKind {
  name: string;
  /** Runs only while no digest batch does (the digest lock taken exclusively, never waited for). */
  exclusive?: boolean;
  batch(client: pg.ClientBase, ctx: KindContext): Promise<BatchResult>;
}

/** `now() − the project's retention`, for a row aliased `p` of project. */
const CUTOFF = 'now() - make_interval(days => coalesce(p.retention_days, $1::int))';

const total = (d: Deleted[], f: (x: Deleted) => number) => d.reduce((n, x) => n + f(x), 0);

/** Payloads older than their project's retention (a project at a time: its (project_id, received_at) index). */
const age: RetentionKind = {
  name: 'age',
  async batch(client, ctx) {
    const deleted = await deletePayloads(client,
      `SELECT a.project_id, a.id FROM project p CROSS JOIN LATERAL (
         SELECT a.project_id, a.id FROM archive a
          WHERE a.project_id = p.id AND a.received_at < ${CUTOFF} AND ${NOT_QUEUED}
          ORDER BY a.received_at LIMIT $2) a
        LIMIT $2`,
      [ctx.defaultDays, ctx.batchSize]);
    return { deleted, more: total(deleted, (x) => x.payloads) >= ctx.batchSize };
  },
};

/**
 * Deletes the reports `doomedSql` selects (columns project_id, id; at most a batch), then their
 * payloads when no report is left on them (with what else came in them: attachments, feedback…).
 */
async function deleteReports(client: pg.ClientBase, doomedSql: string, params: unknown[], batchSize: number): Promise<BatchResult> {
  const { rows } = await client.query<{ project_id: number; archive_id: number }>(
    `WITH doomed AS (${doomedSql})
     DELETE FROM report x USING doomed d WHERE x.project_id = d.project_id AND x.id = d.id
     RETURNING x.project_id, x.archive_id`, params);
  if (!rows.length) return { deleted: [], more: false };
  const events = new Map<number, number>();
  for (const r of rows) events.set(Number(r.project_id), (events.get(Number(r.project_id)) ?? 0) + 1);
  const payloads = await deletePayloads(client,
    `SELECT a.project_id, a.id FROM archive a JOIN unnest($1::bigint[], $2::bigint[]) AS k(project_id, id) ON a.project_id = k.project_id AND a.id = k.id
      WHERE NOT EXISTS (SELECT 1 FROM report z WHERE z.project_id = a.project_id AND z.archive_id = a.id) AND ${NOT_QUEUED}`,
    [rows.map((r) => r.project_id), rows.map((r) => r.archive_id)]);
  const deleted: Deleted[] = [...events].map(([projectId, n]) => ({ projectId, events: n, payloads: 0, payloadBytes: 0, rows: 0 }));
  for (const d of payloads) {
    const e = deleted.find((x) => x.projectId === d.projectId)!;
    e.events += d.events;
    e.payloads += d.payloads;
    e.payloadBytes += d.payloadBytes;
    e.rows += d.rows;
  }
  return { deleted, more: rows.length >= batchSize };
}

/**
 * Events whose own timestamp is older than their project's retention, though received later (an SDK
 * that sent them late: the timestamp may be up to 30 days before receipt). Found issue by issue:
 * issues first seen before the cutoff, their reports through (project_id, issue_id, timestamp).
 */
const eventAge: RetentionKind = {
  name: 'event-age',
  async batch(client, ctx) {
    return deleteReports(client,
      `SELECT r.project_id, r.id FROM project p JOIN issue i ON i.project_id = p.id AND i.first_seen < ${CUTOFF}
         CROSS JOIN LATERAL (
           SELECT x.project_id, x.id FROM report x
            WHERE x.project_id = i.project_id AND x.issue_id = i.id AND x.timestamp < ${CUTOFF} LIMIT $2) r
        LIMIT $2`, [ctx.defaultDays, ctx.batchSize], ctx.batchSize);
  },
};

/**
 * At most max_events_per_issue events per issue: the first event and the most recent ones (receive
 * order) stay. The reports go first; then their payloads, when no other report points at them.
 */
const count: RetentionKind = {
  name: 'count',
  async batch(client, ctx) {
    return deleteReports(client,
      `SELECT r.project_id, r.id FROM project p
         JOIN issue i ON i.project_id = p.id AND i.event_count > p.max_events_per_issue
         CROSS JOIN LATERAL (
           SELECT x.project_id, x.id FROM report x WHERE x.project_id = i.project_id AND x.issue_id = i.id
            ORDER BY x.id DESC OFFSET p.max_events_per_issue - 1) r
        WHERE p.max_events_per_issue IS NOT NULL
          AND r.id > (SELECT min(y.id) FROM report y WHERE y.project_id = i.project_id AND y.issue_id = i.id)
        LIMIT $1`, [ctx.batchSize], ctx.batchSize);
  },
};

/** Rows kept by time without a payload: hourly counts, session states, outcomes, this table's own record. */
const TIMED: { table: string; column: string }[] = [
  { table: 'session_hourly', column: 'hour' },
  { table: 'session_user_hourly', column: 'hour' },
  { table: 'client_report_hourly', column: 'hour' },
  { table: 'item_count_hourly', column: 'hour' },
  { table: 'session_state', column: 'updated_at' },
  { table: 'outcome', column: 'hour' },
  { table: 'retention_deletion', column: 'hour' },
];

const timed: RetentionKind = {
  name: 'timed',
  async batch(client, ctx) {
    const byProject = new Map<number, number>();
    let more = false;
    for (const { table, column } of TIMED) {
      // outcome and retention_deletion have rows of no project (NULL / 0): those follow RETENTION_DAYS.
      const { rows } = await client.query<{ project_id: number; n: string }>(
        `WITH d AS (
           DELETE FROM ${table} WHERE ctid = ANY (ARRAY(
             SELECT x.ctid FROM ${table} x LEFT JOIN project p ON p.id = x.project_id
              WHERE x.${column} < ${CUTOFF} LIMIT $2))
           RETURNING coalesce(project_id, 0) AS project_id)
         SELECT project_id, count(*)::text AS n FROM d GROUP BY 1`, [ctx.defaultDays, ctx.batchSize]);
      let n = 0;
      for (const r of rows) {
        byProject.set(Number(r.project_id), (byProject.get(Number(r.project_id)) ?? 0) + Number(r.n));
        n += Number(r.n);
      }
      if (n >= ctx.batchSize) more = true;
    }
    return { deleted: [...byProject].map(([projectId, rows]) => ({ projectId, events: 0, payloads: 0, payloadBytes: 0, rows })), more };
  },
};

/**
 * Issues with no event left whose last event is older than their project's retention: deleted with
 * their hashes, users and tag counts (a new event of the same kind makes a new issue). Only while no
 * digest batch runs (the digest lock taken exclusively, without waiting): a batch in flight may be
 * adding the issue's next event, which would then point at a deleted issue.
 *
 * Their tag values go too when no other issue counts them (`issue_tag`, through its (project_id,
 * tag_value_id) index) and no unfolded batch does (`issue_delta`): every event's tags are counted per
 * issue, so such a value is no event's any more. High-cardinality tags (request ids, trace ids) would
 * otherwise grow `tag_value` for ever. A deletion moves the digest's generation, so that workers forget
 * the ids they remember (src/digest/dims.ts) before their next batch.
 */
const emptyIssues: RetentionKind = {
  name: 'empty-issue',
  exclusive: true,
  async batch(client, ctx) {
    const { rows } = await client.query<{ project_id: number; n: string; tv: string }>(
      `WITH doomed AS MATERIALIZED (
         SELECT i.project_id, i.id FROM project p JOIN issue i ON i.project_id = p.id
          WHERE i.last_seen < ${CUTOFF}
            AND NOT EXISTS (SELECT 1 FROM report r WHERE r.project_id = i.project_id AND r.issue_id = i.id)
            AND NOT EXISTS (SELECT 1 FROM issue_delta d WHERE d.project_id = i.project_id AND d.issue_id = i.id)
          LIMIT $2 FOR UPDATE OF i SKIP LOCKED),
       tags AS MATERIALIZED (
         SELECT DISTINCT it.project_id, it.tag_value_id AS id FROM issue_tag it JOIN doomed d ON it.project_id = d.project_id AND it.issue_id = d.id),
       ${ISSUE_CHILD_TABLES.map((t, n) => `c${n} AS (DELETE FROM ${t} x USING doomed d WHERE x.project_id = d.project_id AND x.issue_id = d.id),`).join('\n       ')}
       i AS (DELETE FROM issue x USING doomed d WHERE x.project_id = d.project_id AND x.id = d.id RETURNING x.project_id),
       -- one snapshot for the whole statement: the doomed issues' own issue_tag rows are still visible here
       tv AS (DELETE FROM tag_value t USING tags g WHERE t.project_id = g.project_id AND t.id = g.id
                AND NOT EXISTS (SELECT 1 FROM issue_tag it WHERE it.project_id = g.project_id AND it.tag_value_id = g.id
                                   AND NOT EXISTS (SELECT 1 FROM doomed d WHERE d.project_id = it.project_id AND d.id = it.issue_id))
                AND NOT EXISTS (SELECT 1 FROM issue_delta x WHERE x.project_id = g.project_id AND g.id = ANY (x.tag_ids))
              RETURNING t.project_id)
       SELECT project_id, sum(issues)::text AS n, sum(tag_values)::text AS tv FROM (
         SELECT project_id, 1 AS issues, 0 AS tag_values FROM i UNION ALL SELECT project_id, 0, 1 FROM tv) x
        GROUP BY 1`, [ctx.defaultDays, ctx.batchSize]);
    if (rows.some((r) => Number(r.tv) > 0)) await client.query('UPDATE digest_state SET generation = generation + 1');
    const deleted = rows.map((r) => ({ projectId: Number(r.project_id), events: 0, payloads: 0, payloadBytes: 0, rows: Number(r.n) + Number(r.tv) }));
    return { deleted, more: rows.reduce((n, r) => n + Number(r.n), 0) >= ctx.batchSize };
  },
};

/** The disk budget: the oldest payloads of all projects, as many as the pass asked for. */
const budget: RetentionKind = {
  name: 'budget',
  async batch(client, ctx) {
    const limit = Math.min(ctx.batchSize, ctx.budgetPayloads);
    if (limit <= 0) return { deleted: [], more: false };
    // Each project's oldest (its (project_id, received_at) index), then the oldest of those.
    const deleted = await deletePayloads(client,
      `SELECT v.project_id, v.id FROM project p CROSS JOIN LATERAL (
         SELECT a.project_id, a.id, a.received_at FROM archive a
          WHERE a.project_id = p.id AND ${NOT_QUEUED}
          ORDER BY a.received_at LIMIT $1) v
        ORDER BY v.received_at LIMIT $1`, [limit]);
    const n = total(deleted, (x) => x.payloads);
    ctx.budgetPayloads -= n;
    return { deleted, more: n >= limit && ctx.budgetPayloads > 0 };
  },
};

/**
 * Source-map bundles no event was symbolicated with for SOURCEMAP_RETENTION_DAYS, upload chunks older
 * than a day, and file contents no bundle holds any more (src/sourcemaps/store.ts). One batch: a
 * project holds a few bundles, not millions. Bundles count as rows of their project; chunks and
 * contents, which belong to no project until assembled or shared, as rows of project 0.
 */
const sourcemaps: RetentionKind = {
  name: 'sourcemaps',
  async batch(client, ctx) {
    const r = await pruneSourcemaps(client, ctx.sourcemapDays);
    const deleted: Deleted[] = [...r.byProject].map(([projectId, n]) => ({ projectId, events: 0, payloads: 0, payloadBytes: 0, rows: n }));
    if (r.chunks + r.blobs) deleted.push({ projectId: 0, events: 0, payloads: 0, payloadBytes: 0, rows: r.chunks + r.blobs });
    return { deleted, more: false };
  },
};

/**
 * Archive dictionaries no payload can use any more (src/archive/dictionaries.ts: a process uses one
 * for a day, and rows are received in time order), counted as rows of their project.
 */
const dictionaries: RetentionKind = {
  name: 'dictionaries',
  async batch(client, ctx) {
    const byProject = await retireDictionaries(client, ctx.batchSize);
    const deleted: Deleted[] = [...byProject].map(([projectId, n]) => ({ projectId, events: 0, payloads: 0, payloadBytes: 0, rows: n }));
    return { deleted, more: total(deleted, (x) => x.rows) >= ctx.batchSize };
  },
};

/**
 * Projects whose deletion was started (marked: src/storage/project-delete.ts) and not finished, because
 * the process that started it died or kept meeting locks: one batch of one of them at a time, until
 * none is left. A project its deleting request is still working on is skipped (its advisory lock).
 */
const projectDeletion: RetentionKind = {
  name: DELETION_KIND,
  async batch(client, ctx) {
    const r = await resumeProjectDeletion(client, ctx.batchSize);
    if (!r) return { deleted: [], more: false };
    const d = r.deleted;
    return { deleted: d.rows + d.payloads + d.events > 0 ? [d] : [], more: true };
  },
};

/** In the order a pass runs them (a deleted project's rows first: nothing else needs to look at them); `budget` last, after VACUUM has made the others' space free. */
export const RETENTION_KINDS: readonly RetentionKind[] = [projectDeletion, age, eventAge, count, timed, emptyIssues, sourcemaps, dictionaries];
export const BUDGET_KIND = budget;

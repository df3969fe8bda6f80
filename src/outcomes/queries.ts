import type pg from 'pg';
import { categorySql, payloadCategorySql } from '../protocol/categories.js';

// SQL of outcomes: the batched upsert the buffer flushes, and the reads for the API, the CLI and
// /health. More sources are kept by the digest inside its batch transactions, so that a retried batch
// cannot count them twice: SDK client reports (client_report_hourly, read as outcome
// 'client_discard'), items it found invalid (item_invalid, read as 'invalid'), and payloads it could
// not read at all or gave up on (queue_error, read as 'invalid' in the payload's category, at the
// hour it gave up; `crash-cache-cli queue retry` takes a payload out of there, and its items then
// count as what the digest makes of them).

type Db = pg.Pool | pg.ClientBase;

export interface OutcomeCount {
  projectId: number | null;
  hour: Date;
  outcome: string;
  reason: string;
  category: string;
  quantity: number;
}

/**
 * Adds counts in one statement. Rows are summed per key first (one row may not be updated twice
 * by one upsert) and sorted, so concurrent flushes from several processes lock rows in the same
 * order and cannot deadlock. A project deleted meanwhile is counted as unknown (NULL) rather than
 * failing the batch on its foreign key.
 */
export async function addOutcomes(db: Db, rows: OutcomeCount[]): Promise<void> {
  if (!rows.length) return;
  await db.query(
    `INSERT INTO outcome AS o (project_id, hour, outcome, reason, category, quantity)
     SELECT p, h, oc, r, c, sum(q) FROM (
       SELECT (SELECT id FROM project WHERE id = t.p) AS p, t.h, t.oc, t.r, t.c, t.q
         FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS t(p, h, oc, r, c, q)
     ) s
     GROUP BY p, h, oc, r, c
     ORDER BY coalesce(p, 0), h, oc, r, c
     ON CONFLICT ((coalesce(project_id, 0)), hour, outcome, reason, category)
       DO UPDATE SET quantity = o.quantity + EXCLUDED.quantity`,
    [
      rows.map((r) => r.projectId),
      rows.map((r) => r.hour),
      rows.map((r) => r.outcome),
      rows.map((r) => r.reason),
      rows.map((r) => r.category),
      rows.map((r) => r.quantity),
    ],
  );
}

/** Data category of an invalid item's type (protocol/categories.ts), in SQL. */
const ITEM_CATEGORY_SQL = categorySql('item_type');
/** Data category of a payload in queue_error, by its archive row's kind. */
const PAYLOAD_CATEGORY_SQL = payloadCategorySql('a.kind');

export interface OutcomeFilter {
  projectId?: number;
  /** Rows from the hour containing this time onwards. */
  since?: Date;
}

/** Outcome counts per project, hour, outcome, reason and category, newest hour first. */
export async function listOutcomes(db: Db, filter: OutcomeFilter = {}): Promise<OutcomeCount[]> {
  const params = [filter.projectId ?? null, filter.since ?? null];
  const where = `($1::bigint IS NULL OR project_id = $1) AND ($2::timestamptz IS NULL OR hour >= date_trunc('hour', $2::timestamptz))`;
  const invalidWhere = `($1::bigint IS NULL OR project_id = $1) AND ($2::timestamptz IS NULL OR received_at >= date_trunc('hour', $2::timestamptz))`;
  const sql = `SELECT project_id, hour, outcome, reason, category, quantity FROM outcome WHERE ${where}
    UNION ALL
    SELECT project_id, hour, 'client_discard', reason, category, sum(quantity)::bigint
      FROM client_report_hourly WHERE ${where} GROUP BY project_id, hour, reason, category
    UNION ALL
    SELECT project_id, date_trunc('hour', received_at), 'invalid', left(reason, 200), ${ITEM_CATEGORY_SQL}, count(*)::bigint
      FROM item_invalid WHERE ${invalidWhere} GROUP BY 1, 2, 4, 5
    UNION ALL
    SELECT q.project_id, date_trunc('hour', q.failed_at), 'invalid', left(q.error, 200), ${PAYLOAD_CATEGORY_SQL}, count(*)::bigint
      FROM queue_error q JOIN archive a ON a.project_id = q.project_id AND a.id = q.archive_id
     WHERE ($1::bigint IS NULL OR q.project_id = $1) AND ($2::timestamptz IS NULL OR q.failed_at >= date_trunc('hour', $2::timestamptz))
     GROUP BY 1, 2, 4, 5`;
  const { rows } = await db.query<{ project_id: number | null; hour: Date; outcome: string; reason: string; category: string; quantity: number }>(
    `SELECT * FROM (${sql}) u ORDER BY hour DESC, project_id NULLS FIRST, outcome, reason, category`,
    params,
  );
  return rows.map((r) => ({ projectId: r.project_id, hour: r.hour, outcome: r.outcome, reason: r.reason, category: r.category, quantity: Number(r.quantity) }));
}

/** Totals per outcome over the last `hours` hours, for /health: e.g. {rate_limited: 12, client_discard: 3}. */
export async function outcomeTotals(db: Db, hours = 24): Promise<Record<string, number>> {
  const since = `date_trunc('hour', now()) - make_interval(hours => $1)`;
  const sql = `SELECT outcome, sum(quantity)::bigint AS n FROM outcome WHERE hour >= ${since} GROUP BY outcome
    UNION ALL SELECT 'client_discard', sum(quantity)::bigint FROM client_report_hourly WHERE hour >= ${since} HAVING count(*) > 0
    UNION ALL SELECT 'invalid', count(*)::bigint FROM item_invalid WHERE received_at >= ${since} HAVING count(*) > 0
    UNION ALL SELECT 'invalid', count(*)::bigint FROM queue_error WHERE failed_at >= ${since} HAVING count(*) > 0`;
  const { rows } = await db.query<{ outcome: string; n: number }>(sql, [hours]);
  const out: Record<string, number> = {};
  for (const r of rows) out[r.outcome] = (out[r.outcome] ?? 0) + Number(r.n);
  return out;
}

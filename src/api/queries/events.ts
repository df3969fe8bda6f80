import type pg from 'pg';
import type { Cursor } from '../pagination.js';

// Events (reports) of an issue: lists, latest/oldest, one by event id, neighbours. All served by
// report's (project_id, issue_id, id) index or its (project_id, event_id) unique key. Event order is
// receive order (report.id), which is also how Sentry's "latest"/"oldest" read in practice; the
// full event body comes from the archive (loadEvent) only for the one event shown.

export interface ReportRow {
  project_id: number;
  id: number;
  issue_id: number;
  archive_id: number;
  event_id: string; // 32 hex, no dashes (Sentry's form)
  timestamp: Date;
  received_at: Date;
  handled: boolean | null;
  message: string | null;
  exception_value: string | null;
  user_key: string | null;
  release: string | null;
  environment: string | null;
  tags: [string, string][];
}

const REPORT_COLUMNS = `r.project_id, r.id, r.issue_id, r.archive_id, replace(r.event_id::text, '-', '') AS event_id,
  r.timestamp, r.received_at, r.handled, r.message, r.exception_value,
  (SELECT value FROM project_dim d WHERE d.project_id = r.project_id AND d.id = r.user_id) AS user_key,
  (SELECT value FROM project_dim d WHERE d.project_id = r.project_id AND d.id = r.release_id) AS release,
  (SELECT value FROM project_dim d WHERE d.project_id = r.project_id AND d.id = r.environment_id) AS environment,
  coalesce((SELECT array_agg(ARRAY[tv.key, tv.value] ORDER BY u.n)
              FROM unnest(r.tag_ids) WITH ORDINALITY AS u(tag_value_id, n)
              JOIN tag_value tv ON tv.project_id = r.project_id AND tv.id = u.tag_value_id), '{}') AS tags`;

function fixTags(rows: ReportRow[]): ReportRow[] {
  // array_agg of 2-element arrays arrives as a 2-D array: [[k, v], …]
  for (const r of rows) r.tags = (r.tags ?? []) as [string, string][];
  return rows;
}

/** Events of an issue, newest first, keyset-paged on report id. */
export async function listIssueEvents(pool: pg.Pool, projectId: number, issueId: number, limit: number, cursor: Cursor | null): Promise<{ rows: ReportRow[]; more: boolean }> {
  const back = cursor?.isPrev ?? false;
  const params: unknown[] = [projectId, issueId, limit + 1];
  let where = 'r.project_id = $1 AND r.issue_id = $2';
  if (cursor) {
    params.push(cursor.id);
    where += ` AND r.id ${back ? '>' : '<'} $4`;
  }
  const { rows } = await pool.query<ReportRow>(
    `SELECT ${REPORT_COLUMNS} FROM report r WHERE ${where} ORDER BY r.id ${back ? 'ASC' : 'DESC'} LIMIT $3`,
    params,
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  if (back) page.reverse();
  return { rows: fixTags(page), more };
}

/** A project's events, newest first (report's primary key), with their issue's title for the list. */
export async function listProjectEvents(pool: pg.Pool, projectId: number, limit: number, cursor: Cursor | null): Promise<{ rows: (ReportRow & { title: string; culprit: string; platform: string; type: string })[]; more: boolean }> {
  const back = cursor?.isPrev ?? false;
  const params: unknown[] = [projectId, limit + 1];
  let where = 'r.project_id = $1';
  if (cursor) {
    params.push(cursor.id);
    where += ` AND r.id ${back ? '>' : '<'} $3`;
  }
  const { rows } = await pool.query<ReportRow & { title: string; culprit: string; platform: string; type: string }>(
    `SELECT ${REPORT_COLUMNS}, i.title, i.culprit, i.platform, i.type
       FROM report r JOIN issue i ON i.project_id = r.project_id AND i.id = r.issue_id
      WHERE ${where} ORDER BY r.id ${back ? 'ASC' : 'DESC'} LIMIT $2`,
    params,
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  if (back) page.reverse();
  return { rows: fixTags(page) as typeof page, more };
}

export async function issueEventAt(pool: pg.Pool, projectId: number, issueId: number, which: 'latest' | 'oldest'): Promise<ReportRow | null> {
  const { rows } = await pool.query<ReportRow>(
    `SELECT ${REPORT_COLUMNS} FROM report r WHERE r.project_id = $1 AND r.issue_id = $2 ORDER BY r.id ${which === 'latest' ? 'DESC' : 'ASC'} LIMIT 1`,
    [projectId, issueId],
  );
  return fixTags(rows)[0] ?? null;
}

/** One event by its id (hyphenated or not) within a project. */
export async function getReport(pool: pg.Pool, projectId: number, eventId: string): Promise<ReportRow | null> {
  const hex = eventId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  const { rows } = await pool.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM report r WHERE r.project_id = $1 AND r.event_id = $2::uuid`, [projectId, hex]);
  return fixTags(rows)[0] ?? null;
}

/** The issue's previous and next event ids around a report (Sentry's previousEventID / nextEventID). */
export async function eventNeighbours(pool: pg.Pool, r: { project_id: number; issue_id: number; id: number }): Promise<{ previous: string | null; next: string | null }> {
  const { rows } = await pool.query<{ previous: string | null; next: string | null }>(
    `SELECT (SELECT replace(event_id::text, '-', '') FROM report WHERE project_id = $1 AND issue_id = $2 AND id < $3 ORDER BY id DESC LIMIT 1) AS previous,
            (SELECT replace(event_id::text, '-', '') FROM report WHERE project_id = $1 AND issue_id = $2 AND id > $3 ORDER BY id ASC LIMIT 1) AS next`,
    [r.project_id, r.issue_id, r.id],
  );
  return rows[0] ?? { previous: null, next: null };
}

/** Stored size of the archived payload an event came from (Sentry's event `size`). */
export async function archiveSize(pool: pg.Pool, projectId: number, archiveId: number): Promise<number | null> {
  const { rows } = await pool.query<{ size: number }>('SELECT coalesce(raw_size, stored_size) AS size FROM archive WHERE project_id = $1 AND id = $2', [projectId, archiveId]);
  return rows[0]?.size ?? null;
}

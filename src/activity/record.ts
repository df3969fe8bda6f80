import type pg from 'pg';

// The per-issue activity log (table issue_activity): one row per thing that happened to an issue,
// written in the same transaction as the change it records. Types follow Sentry's activity types
// (set_resolved, set_resolved_in_release, set_unresolved, set_ignored, assigned, unassigned, note, merge, unmerge_source,
// unmerge_destination, set_regression, set_escalating, first_seen).

export type ActivityType =
  | 'set_resolved' | 'set_resolved_in_release' | 'set_unresolved' | 'set_ignored' | 'set_regression' | 'set_escalating'
  | 'assigned' | 'unassigned' | 'note' | 'merge' | 'unmerge_source' | 'unmerge_destination';

export async function recordActivity(
  db: pg.Pool | pg.ClientBase,
  a: { projectId: number | string; issueId: number | string; userId: number | null; type: ActivityType; data?: Record<string, unknown> },
): Promise<void> {
  await db.query(
    'INSERT INTO issue_activity (project_id, issue_id, user_id, type, data) VALUES ($1, $2, $3, $4, $5)',
    [a.projectId, a.issueId, a.userId, a.type, JSON.stringify(a.data ?? {})],
  );
}

/** The same entry for several issues in one statement (a bulk change, a digest fold); returns the entries' ids. */
export async function recordActivities(
  db: pg.Pool | pg.ClientBase,
  issues: readonly { projectId: number | string; issueId: number | string }[],
  a: { userId: number | null; type: ActivityType; data?: Record<string, unknown> },
): Promise<string[]> {
  if (!issues.length) return [];
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO issue_activity (project_id, issue_id, user_id, type, data)
     SELECT p, i, $3, $4, $5 FROM unnest($1::bigint[], $2::bigint[]) AS t(p, i)
     RETURNING id`,
    [issues.map((x) => x.projectId), issues.map((x) => x.issueId), a.userId, a.type, JSON.stringify(a.data ?? {})],
  );
  return rows.map((r) => String(r.id));
}

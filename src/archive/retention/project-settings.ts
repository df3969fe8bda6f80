import type pg from 'pg';

// A project's own retention (migrations/0017): days (NULL = RETENTION_DAYS) and events kept per
// issue (NULL = unlimited). Set by `crash-cache-cli project update`, the project API and the UI.

export interface ProjectRetention {
  retentionDays: number | null;
  maxEventsPerIssue: number | null;
}

export const MAX_RETENTION_DAYS = 36500;

/**
 * Checks a requested value: a whole number in range, or null (back to the default). Returns the
 * problem in words, or null when it is fine. The smallest per-issue count is 2: the first event and
 * the latest one.
 */
export function retentionProblem(field: 'retentionDays' | 'maxEventsPerIssue', v: unknown): string | null {
  if (v === null) return null;
  const min = field === 'retentionDays' ? 1 : 2;
  const max = field === 'retentionDays' ? MAX_RETENTION_DAYS : 2_147_483_647;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return `${field} must be a whole number from ${min} to ${max}, or null for the default`;
  return null;
}

export async function getProjectRetention(db: pg.Pool | pg.ClientBase, projectId: number): Promise<ProjectRetention | null> {
  const { rows } = await db.query<{ retention_days: number | null; max_events_per_issue: number | null }>(
    'SELECT retention_days, max_events_per_issue FROM project WHERE id = $1', [projectId]);
  const r = rows[0];
  return r ? { retentionDays: r.retention_days, maxEventsPerIssue: r.max_events_per_issue } : null;
}

/** Sets the fields given (undefined = unchanged, null = the default); false when there is no such project. */
export async function setProjectRetention(db: pg.Pool | pg.ClientBase, projectId: number, v: Partial<ProjectRetention>): Promise<boolean> {
  const r = await db.query(
    `UPDATE project SET retention_days = CASE WHEN $2 THEN $3::int ELSE retention_days END,
                        max_events_per_issue = CASE WHEN $4 THEN $5::int ELSE max_events_per_issue END
      WHERE id = $1`,
    [projectId, v.retentionDays !== undefined, v.retentionDays ?? null, v.maxEventsPerIssue !== undefined, v.maxEventsPerIssue ?? null]);
  return (r.rowCount ?? 0) > 0;
}

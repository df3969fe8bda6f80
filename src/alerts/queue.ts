import type pg from 'pg';

// The digest's side of alerts: called inside the digest transaction that makes the change (the batch
// that creates an issue, the fold that reopens one), so an alert row exists exactly when the issue
// change it reports committed (a rolled-back transaction leaves none, one done again after a crash
// queues it again, and the unique index alert_outbox_change keeps it single). One INSERT … SELECT
// joining the project's alert rules: with no rule it inserts nothing, and it only runs for changes
// that created or reopened issues (src/digest/events.ts, src/digest/fold.ts).

export type AlertKind = 'new' | 'regression' | 'escalating';
export const ALERT_KINDS: readonly AlertKind[] = ['new', 'regression', 'escalating'];

/**
 * Queues one alert per (rule of the project that wants `kind`, issue). `change_at` is the issue's
 * status_changed_at (the change reported; '-infinity' for a new issue), so the same change is never
 * queued twice. Returns how many rows were queued.
 */
export async function queueIssueAlerts(client: pg.ClientBase, projectId: number, kind: AlertKind, issueIds: readonly number[]): Promise<number> {
  if (!issueIds.length) return 0;
  const { rowCount } = await client.query({
    name: 'alerts-queue',
    text: `INSERT INTO alert_outbox (rule_id, project_id, issue_id, kind, change_at)
           SELECT r.id, $1, i.id, $2, CASE WHEN $2 = 'new' THEN '-infinity' ELSE coalesce(i.status_changed_at, '-infinity') END
             FROM alert_rule r JOIN issue i ON i.project_id = $1 AND i.id = ANY($3::bigint[])
            WHERE r.project_id = $1 AND $2 = ANY(r.kinds)
           ON CONFLICT DO NOTHING`,
    values: [projectId, kind, issueIds],
  });
  return rowCount ?? 0;
}

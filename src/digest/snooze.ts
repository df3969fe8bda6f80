import type pg from 'pg';
import { queueIssueAlerts } from '../alerts/queue.js';
import { recordActivities } from '../activity/record.js';
import { transaction } from '../storage/transaction.js';

// Ignored issues whose snooze time has come (migrations/0011_issue_snooze.sql) come back even when no
// new event arrives: every worker runs this now and then (worker.ts wakes for the earliest one). Rows
// are locked in id order, as the digest locks them, and skipped when a digest batch holds them (that
// batch's update brings them back itself).

/** Brings back the issues whose snooze ended, and queues their 'escalating' alerts and activity entries in the same transaction; returns how many. */
export async function wakeSnoozedIssues(pool: pg.Pool): Promise<number> {
  return transaction(pool, async (client) => {
    const { rows } = await client.query<{ project_id: number; id: number }>(
      `UPDATE issue i SET status = 'unresolved', substatus = 'escalating', status_changed_at = now(), snooze_until = NULL
        WHERE (i.project_id, i.id) IN (SELECT project_id, id FROM issue
                                        WHERE snooze_until <= now() AND status = 'ignored'
                                        ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)
        RETURNING i.project_id, i.id`);
    const byProject = new Map<number, number[]>();
    for (const r of rows) {
      const ids = byProject.get(Number(r.project_id)) ?? [];
      ids.push(Number(r.id));
      byProject.set(Number(r.project_id), ids);
    }
    for (const [projectId, ids] of byProject) await queueIssueAlerts(client, projectId, 'escalating', ids);
    await recordActivities(client, rows.map((r) => ({ projectId: r.project_id, issueId: r.id })), { userId: null, type: 'set_escalating', data: { reason: 'snooze_ended' } });
    return rows.length;
  });
}

/** Milliseconds until the earliest snooze ends (null: none). */
export async function nextSnoozeMs(pool: pg.Pool): Promise<number | null> {
  const { rows } = await pool.query<{ ms: number | null }>(
    'SELECT (extract(epoch FROM min(snooze_until) - now()) * 1000)::float8 AS ms FROM issue WHERE snooze_until IS NOT NULL');
  return rows[0]?.ms ?? null;
}

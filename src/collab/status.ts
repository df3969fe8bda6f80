import type pg from 'pg';
import { recordActivities, type ActivityType } from '../activity/record.js';
import { setIssueStatus, type IssueStatus, type Resolution, type Snooze } from '../api/queries/issues.js';

// A status change made by someone (the API, its bulk form, the UI), with its activity entries, in the
// caller's transaction. An entry is written for each issue whose status this changes (resolving a
// resolved issue is no event), and for every ignore or resolution in a release that sets new
// conditions (a re-snooze is a decision worth seeing in the log). Resolving in a release is Sentry's
// set_resolved_in_release, with data {version} (the release), or {version: ""} for the next release.

const TYPE: Record<IssueStatus, ActivityType> = { resolved: 'set_resolved', unresolved: 'set_unresolved', ignored: 'set_ignored' };

export async function changeIssueStatus(
  client: pg.ClientBase,
  ids: number[],
  change: { status: IssueStatus; substatus?: string | null; snooze?: Snooze | null; resolution?: Resolution | null; data?: Record<string, unknown> },
  userId: number | null,
): Promise<{ ids: number[]; substatus: string | null }> {
  // the rows as they were, locked in id order as setIssueStatus and the digest lock them
  const { rows: before } = await client.query<{ project_id: string; id: string; status: string }>(
    'SELECT project_id, id, status FROM issue WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
    [ids],
  );
  const resolution = change.status === 'resolved' ? change.resolution ?? null : null;
  const out = await setIssueStatus(client, ids, change.status, change.substatus, change.snooze, resolution);
  const changed = before.filter((b) => b.status !== change.status || (change.status === 'ignored' && change.snooze) || resolution);
  if (resolution) {
    // per issue: the release each was resolved in ('latest' differs by project)
    const { rows } = await client.query<{ project_id: string; id: string; version: string }>(
      'SELECT project_id, id, CASE WHEN resolved_next THEN \'\' ELSE resolved_in_release END AS version FROM issue WHERE id = ANY($1::bigint[])',
      [changed.map((b) => b.id)],
    );
    for (const version of new Set(rows.map((r) => r.version))) {
      const these = rows.filter((r) => r.version === version).map((r) => ({ projectId: r.project_id, issueId: r.id }));
      await recordActivities(client, these, { userId, type: 'set_resolved_in_release', data: { version } });
    }
    return out;
  }
  const data = change.data ?? (change.status === 'ignored' ? ignoreData(out.substatus, change.snooze ?? null) : {});
  await recordActivities(client, changed.map((b) => ({ projectId: b.project_id, issueId: b.id })), { userId, type: TYPE[change.status], data });
  return out;
}

/** Sentry's set_ignored data: the snooze conditions as the API took them, or "until escalating". */
function ignoreData(substatus: string | null, snooze: Snooze | null): Record<string, unknown> {
  if (snooze) return snooze.details;
  if (substatus === 'archived_until_escalating') return { ignoreUntilEscalating: true };
  return {};
}

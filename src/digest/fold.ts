import type pg from 'pg';
import { queueIssueAlerts, queueThresholdAlerts} from '../alerts/queue.js';
import { recordActivities } from '../activity/record.js';

// Folding issue counters (migrations/0016_issue_delta.sql). Digest batches insert what they counted
// into issue_delta; a fold deletes every row it can see and applies their sums to issue (event and
// user counts, first/last seen, last event, regressions and snooze wake-ups) and issue_tag, in one
// statement. Folds are serialized by FOLD_LOCK, and batches never lock issue or issue_tag rows any
// more, so the rows every batch of a busy issue used to wait for (7.9 ms per batch when taken
// mid-batch) are written by one transaction at a time. A delta is applied exactly once: its insert
// commits with its batch, its delete with the fold's updates.
//
// When: a batch that drained the queue folds before its COMMIT if it made a new issue (whose first
// counts then come with its first event) or if its process last folded FOLD_IDLE_MS ago or more;
// otherwise the worker folds its deltas when that time is up (or at a clean stop). So an idle digest's
// counters are exact within FOLD_IDLE_MS, and steady traffic folds once a second instead of once per
// batch: default process at 1,000 events/s (pg_stat_statements, PostgreSQL 15), 196 folds in 20 s
// of ~80 issues, 198 µs of PostgreSQL per event → 27 folds, 86 µs. During a backlog, each worker
// process folds every FOLD_EVERY_MS in a transaction of its own, beside its batches (inside a batch,
// the fold kept the rows that batch had written locked for its duration, and the other lanes
// waited), so counters lag by up to ~5 s there. A fold's cost grows with the issues and tag values it touches, not with the
// events: on the bench mix, whose ~780 issues all change within a second, folding every 1 s cost
// 2.25 s of fold time per 50,000 events, every 2 s 1.2 s (pg_stat_statements: 28 µs of PostgreSQL
// per event, its largest statement), every 5 s PostgreSQL's CPU per event fell by another ~15 µs.

/** Folds are serialized (per database) by this advisory lock, taken for the fold's transaction. */
export const FOLD_LOCK = 7_310_224_003;

/** How often a worker process folds while its batches are full (a backlog). */
export const FOLD_EVERY_MS = 5000;

/**
 * How often, at most, a worker process folds when its batches drain the queue (steady traffic) and
 * made no new issue; what they leave is folded at the due time, or at a clean stop.
 */
export const FOLD_IDLE_MS = 1000;

// Conditions of the issue update, on the row before the update (i) and the folded sums (v).
// A new event received after the issue was resolved reopens it as a regression. Receive times reach
// the digest with millisecond precision (JS dates) and resolved_at has microseconds, so they are
// compared by the millisecond: an event received in the millisecond the issue was resolved reopens it
// (comparing the truncated receive time with the exact resolve time, such an event was ignored).
// An issue resolved in a release (migrations/0048) reopens only for an event of that release or a
// release first seen after it (next release: after the newest one it knew) — a higher release
// dimension id — found among the release tags of its deltas; events without a release never reopen
// it. CASE, not AND, so that lookup runs only for such issues. A release named when resolving that
// has since gone (ruminate rebuilt the dimensions before any event of it came) reopens nothing
// until it comes back.
const REGRESSED = `(CASE WHEN i.status <> 'resolved' THEN false
   WHEN to_timestamp(v.r) < date_trunc('milliseconds', coalesce(i.resolved_at, '-infinity')) THEN false
   WHEN i.resolved_next IS NULL THEN true
   ELSE EXISTS (
     SELECT 1 FROM d x CROSS JOIN LATERAL unnest(x.tag_ids) AS t(id)
       JOIN tag_value tv ON tv.project_id = x.project_id AND tv.id = t.id AND tv.key = 'release'
       JOIN project_dim pd ON pd.project_id = x.project_id AND pd.kind = 'release' AND pd.value = tv.value
      WHERE x.project_id = i.project_id AND x.issue_id = i.id
        AND pd.id >= coalesce((SELECT b.id + CASE WHEN i.resolved_next THEN 1 ELSE 0 END FROM project_dim b
                                WHERE b.project_id = i.project_id AND b.kind = 'release' AND b.value = i.resolved_in_release),
                              CASE WHEN i.resolved_next THEN 0 ELSE 2147483647 END)) END)`;
// An ignored issue's snooze (migrations/0011_issue_snooze.sql) is over: its time has come, or enough
// events (since the snooze, or within the window — counted from the reports, the folded ones
// included), or enough new users. CASE, not OR, so the count of reports runs only for such issues.
const WAKES = `(CASE WHEN i.status <> 'ignored' THEN false
   WHEN i.snooze_until <= now() THEN true
   WHEN i.snooze_users IS NOT NULL AND i.user_count + v.u - i.snooze_base_users >= i.snooze_users THEN true
   WHEN i.snooze_count IS NULL THEN false
   WHEN i.snooze_window IS NULL THEN i.event_count + v.n - i.snooze_base_events >= i.snooze_count
   ELSE (SELECT count(*) FROM report r WHERE r.project_id = i.project_id AND r.issue_id = i.id AND r.timestamp > now() - i.snooze_window) >= i.snooze_count END)`;

// Tag counts, then the issue rows locked in (project, id) order (folds are serialized, and nothing
// else writes issue_tag rows, so their order does not matter). Deltas of issues
// deleted meanwhile match no issue row and are dropped with the rest.
const FOLD_SQL = `WITH d AS (DELETE FROM issue_delta RETURNING *),
  v AS (SELECT project_id, issue_id AS id, sum(events) AS n, sum(users) AS u, min(first_seen) AS f, max(last_seen) AS l,
               max(last_received) AS r, (array_agg(last_event_id ORDER BY last_seen DESC))[1] AS e
          FROM d GROUP BY project_id, issue_id),
  tags AS (
    INSERT INTO issue_tag AS it (project_id, issue_id, tag_value_id, count, first_seen, last_seen)
    SELECT d.project_id, d.issue_id, x.t, sum(x.n), to_timestamp(min(x.f)), to_timestamp(max(x.l))
      FROM d CROSS JOIN LATERAL unnest(d.tag_ids, d.tag_counts, d.tag_first, d.tag_last) AS x(t, n, f, l)
     WHERE EXISTS (SELECT 1 FROM issue i WHERE i.project_id = d.project_id AND i.id = d.issue_id)
     GROUP BY d.project_id, d.issue_id, x.t
    ON CONFLICT (project_id, issue_id, tag_value_id) DO UPDATE SET count = it.count + EXCLUDED.count,
       first_seen = least(it.first_seen, EXCLUDED.first_seen), last_seen = greatest(it.last_seen, EXCLUDED.last_seen)),
  locked AS (SELECT i.project_id, i.id, i.status AS was FROM issue i JOIN v ON i.project_id = v.project_id AND i.id = v.id
              ORDER BY i.project_id, i.id FOR NO KEY UPDATE OF i)
  UPDATE issue i SET event_count = i.event_count + v.n, user_count = i.user_count + v.u,
         first_seen = least(i.first_seen, to_timestamp(v.f)),
         last_event_id = CASE WHEN to_timestamp(v.l) >= i.last_seen THEN v.e ELSE i.last_event_id END,
         last_seen = greatest(i.last_seen, to_timestamp(v.l)),
         last_received = greatest(i.last_received, to_timestamp(v.r)),
         status = CASE WHEN ${REGRESSED} OR ${WAKES} THEN 'unresolved' ELSE i.status END,
         substatus = CASE WHEN ${REGRESSED} THEN 'regressed' WHEN ${WAKES} THEN 'escalating' ELSE i.substatus END,
         status_changed_at = CASE WHEN ${REGRESSED} OR ${WAKES} THEN to_timestamp(v.r) ELSE i.status_changed_at END,
         resolved_at = CASE WHEN ${REGRESSED} THEN NULL ELSE i.resolved_at END,
         resolved_in_release = CASE WHEN ${REGRESSED} THEN NULL ELSE i.resolved_in_release END,
         resolved_next = CASE WHEN ${REGRESSED} THEN NULL ELSE i.resolved_next END,
         snooze_until = CASE WHEN ${WAKES} THEN NULL ELSE i.snooze_until END
    FROM v, locked
   WHERE i.project_id = v.project_id AND i.id = v.id AND locked.project_id = v.project_id AND locked.id = v.id
  RETURNING i.project_id, i.id, i.substatus, i.status_changed_at = to_timestamp(v.r) AS changed, locked.was <> i.status AS reopened, v.n, v.u, v.r`;

/** The alert of an issue the fold reopened, by its new substatus. */
const REOPENED_AS: Record<string, 'regression' | 'escalating'> = { regressed: 'regression', escalating: 'escalating' };

/**
 * Folds every delta this transaction can see into issue and issue_tag, and queues the alerts of
 * issues it reopened. Call inside a transaction that holds the digest lock shared (a batch's).
 * Returns the number of issues updated.
 */
export async function foldIssueCounters(client: pg.ClientBase): Promise<number> {
  // Its own statement: the fold's snapshot is taken after the previous fold committed.
  await client.query({ name: 'digest-fold-lock', text: 'SELECT pg_advisory_xact_lock($1)', values: [FOLD_LOCK] });
  const { rows } = await client.query<{ project_id: number; id: number; substatus: string | null; changed: boolean; reopened: boolean; n: number; u: number; r: number }>({ name: 'digest-fold', text: FOLD_SQL });
  // Reopened by this fold (a fold with the same newest receive time finds the same change: queued once).
  const reopened = new Map<string, { pid: number; kind: 'regression' | 'escalating'; ids: number[] }>();
  const activity: { projectId: number; issueId: number; kind: 'regression' | 'escalating' }[] = [];
  for (const r of rows) {
    const kind = r.changed ? REOPENED_AS[r.substatus ?? ''] : undefined;
    if (!kind) continue;
    const k = `${r.project_id}/${kind}`;
    if (!reopened.has(k)) reopened.set(k, { pid: r.project_id, kind, ids: [] });
    reopened.get(k)!.ids.push(r.id);
    // the activity log only where this fold changed the status: a later fold of events received in the same
    // millisecond finds `changed` again (its alert is deduplicated by the outbox key), the log must not repeat it
    if (r.reopened) activity.push({ projectId: r.project_id, issueId: r.id, kind });
  }
  for (const { pid, kind, ids } of reopened.values()) await queueIssueAlerts(client, pid, kind, ids);
  // in the fold's transaction: a regression, or a snooze its events ended
  for (const kind of ['regression', 'escalating'] as const) {
    const these = activity.filter((a) => a.kind === kind);
    await recordActivities(client, these, { userId: null, type: kind === 'regression' ? 'set_regression' : 'set_escalating' });
  }
  // frequency and users triggers: what this fold counted (one lookup of the rules when no project has one)
  await queueThresholdAlerts(client, rows);
  return rows.length;
}

/**
 * A fold in a transaction of its own (during a backlog, beside the batches), on a client with no
 * transaction open. With `wait: false` it returns null at once when another fold holds FOLD_LOCK.
 */
export async function foldNow(client: pg.ClientBase, digestLock: number, opts: { wait: boolean } = { wait: true }): Promise<number | null> {
  await client.query(`BEGIN; SET LOCAL synchronous_commit TO off; SELECT pg_advisory_xact_lock_shared(${digestLock})`);
  try {
    let n: number | null = null;
    if (opts.wait || (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [FOLD_LOCK])).rows[0]!.ok) n = await foldIssueCounters(client);
    await client.query('COMMIT');
    return n;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

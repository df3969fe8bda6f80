import type pg from 'pg';

// The digest's side of alerts: called inside the digest transaction that makes the change (the batch
// that creates an issue, the fold that reopens one or counts its events), so an alert row exists
// exactly when the issue change it reports committed (a rolled-back transaction leaves none, one done
// again after a crash queues it again, and the unique index alert_outbox_change keeps it single). Each
// call is one INSERT … SELECT joining the project's alert rules: with no rule it inserts nothing.
//
// A rule fires for an issue when one of its triggers (kinds) holds and all its filters do, and at
// most once per action interval: the alert_fired upsert below only moves quiet_until forward when it
// has passed, and row locks order concurrent transactions, so a burst of any size notifies once.

export type AlertKind = 'new' | 'regression' | 'escalating' | 'frequency' | 'users' | 'monitor';
/** 'monitor': a cron monitor's incident (src/alerts/monitors.ts), not an issue's. */
export const ALERT_KINDS: readonly AlertKind[] = ['new', 'regression', 'escalating', 'frequency', 'users', 'monitor'];
/** Kinds that report a change of the issue's status (queued by the batch or the fold that made it). */
export const CHANGE_KINDS: readonly AlertKind[] = ['new', 'regression', 'escalating'];
export const LEVELS = ['debug', 'info', 'warning', 'error', 'fatal'] as const;

// The rule's level filter, against the issue (i).
const LEVEL_OK = `(r.filter_level IS NULL OR array_position('{debug,info,warning,error,fatal}'::text[], i.level)
                   >= array_position('{debug,info,warning,error,fatal}'::text[], r.filter_level))`;
// Its tag filters, against the issue's tag values (issue_tag: every event folded so far).
const TAGS_OF_ISSUE = `(r.filter_tags = '{}' OR NOT EXISTS (
     SELECT 1 FROM jsonb_each_text(r.filter_tags) f(k, v)
      WHERE NOT EXISTS (SELECT 1 FROM tag_value tv JOIN issue_tag it ON it.project_id = tv.project_id AND it.tag_value_id = tv.id
                         WHERE tv.project_id = i.project_id AND tv.key = f.k AND tv.value = f.v AND it.issue_id = i.id)))`;
// …or against the first event's tags, passed as JSON (a new issue has no issue_tag rows before its fold).
const TAGS_OF_EVENT = `(r.filter_tags = '{}' OR NOT EXISTS (
     SELECT 1 FROM jsonb_each_text(r.filter_tags) f(k, v) WHERE (c.tags ->> f.k) IS DISTINCT FROM f.v))`;

/** Inserts the notifications of candidates `cand(rule_id, issue_id, project_id, kind, change_at, detail)` whose action interval allows. */
const GATE_AND_QUEUE = `
  fired AS (
    INSERT INTO alert_fired AS f (rule_id, issue_id, quiet_until)
    SELECT rule_id, issue_id, now() + interval_min * interval '1 minute' FROM cand
    ON CONFLICT (rule_id, issue_id) DO UPDATE SET quiet_until = EXCLUDED.quiet_until WHERE f.quiet_until <= now()
    RETURNING rule_id, issue_id)
  INSERT INTO alert_outbox (rule_id, project_id, issue_id, kind, change_at, detail)
  SELECT c.rule_id, c.project_id, c.issue_id, c.kind, c.change_at, c.detail FROM cand c JOIN fired USING (rule_id, issue_id)
  ON CONFLICT DO NOTHING`;

/**
 * Queues one alert per (rule of the project that wants `kind`, issue) whose filters hold. `change_at`
 * is the issue's status_changed_at (the change reported; '-infinity' for a new issue), so the same
 * change is never queued twice. `eventTags` (new issues): the first event's tags by issue id, which
 * tag filters check. Returns how many rows were queued.
 */
export async function queueIssueAlerts(client: pg.ClientBase, projectId: number, kind: 'new' | 'regression' | 'escalating', issueIds: readonly number[], eventTags?: ReadonlyMap<number, Record<string, string>>): Promise<number> {
  if (!issueIds.length) return 0;
  const tags = JSON.stringify(issueIds.map((id) => eventTags?.get(id) ?? null));
  const { rowCount } = await client.query({
    name: 'alerts-queue',
    text: `WITH c AS (SELECT * FROM unnest($3::bigint[]) WITH ORDINALITY AS x(id, n) JOIN LATERAL (SELECT ($4::jsonb -> (x.n::int - 1)) AS tags) t ON true),
           cand AS (
             SELECT r.id AS rule_id, i.id AS issue_id, i.project_id, $2::text AS kind, r.action_interval_minutes AS interval_min, NULL::text AS detail,
                    CASE WHEN $2 = 'new' THEN '-infinity' ELSE coalesce(i.status_changed_at, '-infinity') END AS change_at
               FROM alert_rule r JOIN c ON true JOIN issue i ON i.project_id = $1 AND i.id = c.id
              WHERE r.project_id = $1 AND $2 = ANY(r.kinds) AND ${LEVEL_OK}
                AND CASE WHEN c.tags IS NULL OR jsonb_typeof(c.tags) <> 'object' THEN ${TAGS_OF_ISSUE} ELSE ${TAGS_OF_EVENT} END),
           ${GATE_AND_QUEUE}`,
    values: [projectId, kind, issueIds, tags],
  });
  return rowCount ?? 0;
}

/**
 * The fold's part for frequency and users triggers: adds what it folded (events and new users of
 * each issue, by the minute of their newest receive time) to alert_issue_minute, for projects that
 * have such a rule, then queues the rules whose threshold the sum over their window exceeds. At most
 * three statements per fold whatever the number of events, one without such a rule. The window is
 * summed (≤ window-minutes rows of the primary key per issue) only for an issue whose lifetime count
 * is over the threshold and whose rule is not in its action interval: an issue that fired is skipped
 * for the interval, so a storm costs one sum. `folded`: the issues the fold touched, with what it added.
 */
export async function queueThresholdAlerts(client: pg.ClientBase, folded: { project_id: number; id: number; n: number; u: number; r: number }[]): Promise<number> {
  if (!folded.length) return 0;
  const { rows } = await client.query<{ project_id: number }>({
    name: 'alerts-threshold-projects',
    text: `SELECT DISTINCT project_id FROM alert_rule WHERE project_id = ANY($1::bigint[]) AND kinds && '{frequency,users}'`,
    values: [[...new Set(folded.map((f) => f.project_id))]],
  });
  if (!rows.length) return 0;
  const wanted = new Set(rows.map((r) => Number(r.project_id)));
  const mine = folded.filter((f) => wanted.has(Number(f.project_id)));
  const values = [mine.map((f) => f.project_id), mine.map((f) => f.id), mine.map((f) => f.n), mine.map((f) => f.u), mine.map((f) => f.r)];
  // its own statement: the next one sees these counts
  await client.query({
    name: 'alerts-threshold-count',
    text: `INSERT INTO alert_issue_minute AS m (project_id, issue_id, minute, events, users)
           SELECT pid, iid, date_trunc('minute', to_timestamp(r)), n, u
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[]) AS v(pid, iid, n, u, r)
           ON CONFLICT (project_id, issue_id, minute) DO UPDATE SET events = m.events + EXCLUDED.events, users = m.users + EXCLUDED.users`,
    values,
  });
  const { rowCount } = await client.query({
    name: 'alerts-threshold',
    text: `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS v(pid, iid)),
           pairs AS (
             SELECT r.id AS rule_id, i.project_id, i.id AS issue_id, r.action_interval_minutes AS interval_min, r.kinds,
                    r.event_threshold, r.event_window_minutes, r.user_threshold, r.user_window_minutes, i.event_count, i.user_count
               FROM v JOIN issue i ON i.project_id = v.pid AND i.id = v.iid
               JOIN alert_rule r ON r.project_id = i.project_id AND r.kinds && '{frequency,users}'
              WHERE i.status = 'unresolved' AND ${LEVEL_OK}
                AND NOT EXISTS (SELECT 1 FROM alert_fired f WHERE f.rule_id = r.id AND f.issue_id = i.id AND f.quiet_until > now())
                AND ${TAGS_OF_ISSUE}),
           sums AS (
             SELECT p.*,
                    CASE WHEN 'frequency' = ANY(p.kinds) AND p.event_count > p.event_threshold THEN
                      (SELECT coalesce(sum(m.events), 0) FROM alert_issue_minute m WHERE m.project_id = p.project_id AND m.issue_id = p.issue_id
                          AND m.minute > now() - p.event_window_minutes * interval '1 minute') ELSE 0 END AS events,
                    CASE WHEN 'users' = ANY(p.kinds) AND p.user_count > p.user_threshold THEN
                      (SELECT coalesce(sum(m.users), 0) FROM alert_issue_minute m WHERE m.project_id = p.project_id AND m.issue_id = p.issue_id
                          AND m.minute > now() - p.user_window_minutes * interval '1 minute') ELSE 0 END AS users
               FROM pairs p),
           cand AS (
             SELECT rule_id, issue_id, project_id, interval_min, now() AS change_at,
                    CASE WHEN 'frequency' = ANY(kinds) AND events > event_threshold THEN 'frequency' ELSE 'users' END AS kind,
                    CASE WHEN 'frequency' = ANY(kinds) AND events > event_threshold
                         THEN format('%s events in the last %s minutes (more than %s)', events, event_window_minutes, event_threshold)
                         ELSE format('%s new users in the last %s minutes (more than %s)', users, user_window_minutes, user_threshold) END AS detail
               FROM sums
              WHERE ('frequency' = ANY(kinds) AND events > event_threshold) OR ('users' = ANY(kinds) AND users > user_threshold)),
           ${GATE_AND_QUEUE}`,
    values: values.slice(0, 2),
  });
  return rowCount ?? 0;
}

import type pg from 'pg';
import { redactUrl } from './outbound.js';

// Queries of alert_outbox (migrations/0014_alerts.sql) for the senders and the CLI. Claiming is a
// lease, not a lock held over the POST: one short statement takes due rows FOR UPDATE SKIP LOCKED and
// moves their run_after past the POST's timeout, so no connection is held while a webhook answers,
// two senders never hold the same row, and a sender that dies mid-POST leaves a row that becomes due
// again (delivered at least once; `attempts` is the lease's token so a late answer cannot overwrite a
// newer attempt's result).

/** A claimed alert with what its payload needs (issue columns are null for a test or a deleted issue). */
export interface ClaimedAlert {
  id: number;
  rule_id: number;
  project_id: number;
  issue_id: number | null;
  kind: 'new' | 'regression' | 'escalating' | 'frequency' | 'users' | 'monitor' | 'test';
  attempts: number;
  created_at: Date;
  /** why a threshold trigger fired ("12 events in the last 60 minutes (more than 10)") */
  detail: string | null;
  rule_name: string;
  channel: 'webhook' | 'slack' | 'discord' | 'teams' | 'email';
  webhook_url: string | null;
  project_slug: string;
  project_name: string;
  issue_found: boolean;
  /** a 'monitor' alert's incident */
  monitor_slug: string | null;
  monitor_env: string | null;
  incident_kind: 'missed' | 'failed' | 'timeout' | null;
  short_id: number | null;
  title: string | null;
  culprit: string | null;
  level: string | null;
  platform: string | null;
  status: string | null;
  substatus: string | null;
  event_count: number | null;
  user_count: number | null;
  first_seen: Date | null;
  last_seen: Date | null;
}

/** The outboxes whose rows are leased, retried and recorded alike: alerts, and e-mail about issues (src/notices/). */
export type Outbox = 'alert_outbox' | 'notice_outbox';

/** Margin of a lease beyond the POST's timeout (a slow database write of the result fits in it). */
export const LEASE_MARGIN_MS = 60_000;

const DETAILS = `SELECT c.id, c.rule_id, c.project_id, c.issue_id, c.kind, c.attempts, c.created_at, c.detail, r.name AS rule_name, r.channel, r.webhook_url,
                        p.slug AS project_slug, p.name AS project_name, i.id IS NOT NULL AS issue_found, i.short_id, i.title, i.culprit,
                        i.level, i.platform, i.status, i.substatus, i.event_count, i.user_count, i.first_seen, i.last_seen,
                        mi.monitor_slug, nullif(mi.environment, '') AS monitor_env, mi.kind AS incident_kind
                   FROM c JOIN alert_rule r ON r.id = c.rule_id JOIN project p ON p.id = c.project_id
                   LEFT JOIN issue i ON i.project_id = c.project_id AND i.id = c.issue_id
                   LEFT JOIN monitor_incident mi ON mi.id = c.incident_id`;

/**
 * The claim of an outbox as a CTE `c`: up to $1 due rows, leased for $2 ms (run_after moved past the
 * send's timeout, attempts counted), skipping rows another sender holds. Followed by the caller's SELECT.
 */
export function leaseCte(outbox: Outbox): string {
  return `WITH c AS (
             UPDATE ${outbox} o SET attempts = o.attempts + 1, run_after = now() + $2 * interval '1 millisecond'
              WHERE o.id IN (SELECT id FROM ${outbox} WHERE status = 'pending' AND run_after <= now()
                              ORDER BY run_after, id LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING o.*)`;
}

/** Takes up to `limit` due alerts for `leaseMs`. */
export async function claimAlerts(db: pg.Pool | pg.ClientBase, limit: number, leaseMs: number): Promise<ClaimedAlert[]> {
  const { rows } = await db.query<ClaimedAlert>({ name: 'alerts-claim', text: `${leaseCte('alert_outbox')} ${DETAILS} ORDER BY c.id`, values: [limit, leaseMs] });
  return rows;
}

/** A test alert for one rule, already claimed by the caller (crash-cache-cli alert test); null: no such rule. */
export async function createTestAlert(db: pg.Pool | pg.ClientBase, ruleId: number, leaseMs: number): Promise<ClaimedAlert | null> {
  const { rows } = await db.query<ClaimedAlert>(
    `WITH c AS (
       INSERT INTO alert_outbox (rule_id, project_id, kind, attempts, run_after)
       SELECT id, project_id, 'test', 1, now() + $2 * interval '1 millisecond' FROM alert_rule WHERE id = $1
       RETURNING *)
     ${DETAILS}`,
    [ruleId, leaseMs],
  );
  return rows[0] ?? null;
}

export interface DeliveryResult {
  ok: boolean;
  /** HTTP status or SMTP reply code of the answer (null: none — timeout, refused connection, …) */
  httpStatus: number | null;
  error: string | null;
  /** what was sent: the JSON body, or for e-mail its recipients and subject */
  payload: unknown;
  /** the receiver's answer as shown to a person (HTTP status and reason phrase, SMTP reply) */
  answer?: string;
  /** retrying cannot help (an SMTP 5xx): failed now */
  permanent?: boolean;
}

/**
 * Records the outcome of attempt `attempt` of row `id` of `outbox`. A failure is retried after
 * retrySecs × 5^(attempts − 1), at most 6 h, until maxAttempts (a permanent failure at once); then the row is 'failed'. False when
 * the lease was lost (another attempt took over), so nothing was recorded.
 */
export async function recordDelivery(db: pg.Pool | pg.ClientBase, id: number, attempt: number, r: DeliveryResult, opts: { retrySecs: number; maxAttempts: number; outbox?: Outbox }): Promise<boolean> {
  const outbox = opts.outbox ?? 'alert_outbox';
  const { rowCount } = await db.query({
    name: `${outbox}-record`,
    text: `UPDATE ${outbox} SET last_status = $3, last_error = coalesce($4, last_error), payload = $5::jsonb,
                  status = CASE WHEN $6 THEN 'delivered' WHEN attempts >= $7 OR $9 THEN 'failed' ELSE 'pending' END,
                  finished_at = CASE WHEN $6 OR attempts >= $7 OR $9 THEN now() END,
                  run_after = CASE WHEN $6 THEN run_after ELSE now() + least($8 * power(5, attempts - 1), 21600) * interval '1 second' END
            WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
    values: [id, attempt, r.httpStatus, r.error, JSON.stringify(r.payload ?? null), r.ok, opts.maxAttempts, opts.retrySecs, r.permanent ?? false],
  });
  return (rowCount ?? 0) > 0;
}

/** Deletes delivered and given-up alerts and e-mails about issues that finished more than `days` ago; returns how many. */
export async function pruneAlerts(db: pg.Pool | pg.ClientBase, days: number): Promise<number> {
  let n = 0;
  for (const outbox of ['alert_outbox', 'notice_outbox'] satisfies Outbox[]) {
    const { rowCount } = await db.query(`DELETE FROM ${outbox} WHERE status <> 'pending' AND finished_at < now() - $1 * interval '1 day'`, [days]);
    n += rowCount ?? 0;
  }
  return n;
}

/** Deletes per-minute counts older than the longest trigger window (7 days). */
export async function pruneAlertCounts(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM alert_issue_minute WHERE minute < now() - interval '7 days'");
  return rowCount ?? 0;
}

export interface DeliveryRow {
  id: number;
  rule_id: number;
  project_slug: string;
  issue_id: number | null;
  kind: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: Date;
  run_after: Date;
  finished_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  channel: string;
  /** where it went, secrets cut (redactUrl), or the rule's e-mail recipients */
  target: string;
  detail: string | null;
}

/** The most recent alerts, newest first. */
export async function listDeliveries(db: pg.Pool | pg.ClientBase, opts: { projectId?: number; status?: string; limit?: number; ruleId?: number } = {}): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow & { webhook_url: string | null; email_to: string[]; email_members: boolean }>(
    `SELECT o.id, o.rule_id, p.slug AS project_slug, o.issue_id, o.kind, o.status, o.attempts, o.created_at, o.run_after,
            o.finished_at, o.last_status, o.last_error, r.channel, r.webhook_url, r.email_to, r.email_members, o.detail
       FROM alert_outbox o JOIN alert_rule r ON r.id = o.rule_id JOIN project p ON p.id = o.project_id
      WHERE ($1::bigint IS NULL OR o.project_id = $1) AND ($2::text IS NULL OR o.status = $2) AND ($4::bigint IS NULL OR o.rule_id = $4)
      ORDER BY o.id DESC LIMIT $3`,
    [opts.projectId ?? null, opts.status ?? null, opts.limit ?? 50, opts.ruleId ?? null],
  );
  return rows.map(({ webhook_url, email_to, email_members, ...d }) => ({ ...d, target: targetOf({ webhook_url, email_to, email_members }) }));
}

/** A rule's channel target as it may be shown: a URL without its secret part, or the e-mail recipients. */
export function targetOf(r: { webhook_url: string | null; email_to: string[]; email_members: boolean }): string {
  if (r.webhook_url) return redactUrl(r.webhook_url);
  return [...r.email_to, ...(r.email_members ? ['project members'] : [])].join(', ');
}

import type pg from 'pg';
import { listMonitors, monitorEnvironments } from '../api/queries/monitors.js';
import { serializeMonitorEnvironment } from '../api/serialize-monitor.js';

// Cron monitor incidents (migrations/0026_monitor_alerts.sql): every alert sender looks at every
// monitor's environments now and then (MONITOR_CHECK_EVERY_MS) with the same status rules the API
// shows (src/api/serialize-monitor.ts: missed_checkin past nextCheckInLatest, error for an error
// check-in or one in progress past max_runtime). A bad status with no open incident opens one and
// queues the notifications of the project's 'monitor' rules in the same statement; the unique index
// on open incidents makes that happen once however many processes look. An ok check-in closes it.

/** How often each sender looks: a missed check-in is reported within about this long of its deadline. */
export const MONITOR_CHECK_EVERY_MS = 30_000;
/** Check-ins older than this are not read (a monitor silent for longer keeps its open incident). */
const LOOKBACK_DAYS = 8;

const DETAIL = {
  missed: (slug: string, env: string, at: string | null) => `cron monitor ${slug} (${env}) missed its check-in${at ? ` expected by ${at}` : ''}`,
  failed: (slug: string, env: string) => `cron monitor ${slug} (${env}) reported a failed check-in`,
  timeout: (slug: string, env: string, min: number) => `cron monitor ${slug} (${env}) has been in progress for more than its max_runtime (${min} min)`,
};

export async function checkMonitors(pool: pg.Pool, now = Date.now()): Promise<{ opened: number; resolved: number }> {
  const monitors = await listMonitors(pool, null);
  if (!monitors.length) return { opened: 0, resolved: 0 };
  const envs = await monitorEnvironments(pool, monitors, LOOKBACK_DAYS);
  const byKey = new Map(monitors.map((m) => [`${m.project_id}/${m.slug}`, m]));
  const { rows: open } = await pool.query<{ project_id: number; monitor_slug: string; environment: string }>(
    'SELECT project_id, monitor_slug, environment FROM monitor_incident WHERE resolved_at IS NULL');
  const isOpen = new Set(open.map((o) => `${o.project_id}/${o.monitor_slug}/${o.environment}`));
  let opened = 0, resolved = 0;
  for (const e of envs) {
    const m = byKey.get(`${e.project_id}/${e.slug}`);
    if (!m) continue;
    const s = serializeMonitorEnvironment(m, e, now);
    const env = e.environment ?? '';
    const key = `${e.project_id}/${e.slug}/${env}`;
    const shown = e.environment ?? 'production';
    let kind: 'missed' | 'failed' | 'timeout' | null = null;
    let detail = '';
    if (s.status === 'missed_checkin') (kind = 'missed', detail = DETAIL.missed(e.slug, shown, s.nextCheckInLatest));
    else if (s.status === 'error' && e.last_status === 'in_progress') (kind = 'timeout', detail = DETAIL.timeout(e.slug, shown, Number(m.config?.max_runtime ?? 30)));
    else if (s.status === 'error') (kind = 'failed', detail = DETAIL.failed(e.slug, shown));
    if (kind && !isOpen.has(key)) {
      const { rowCount } = await pool.query(
        `WITH inc AS (
           INSERT INTO monitor_incident (project_id, monitor_slug, environment, kind, detail) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (project_id, monitor_slug, environment) WHERE resolved_at IS NULL DO NOTHING
           RETURNING id, project_id, started_at, detail),
         q AS (
           INSERT INTO alert_outbox (rule_id, project_id, kind, change_at, detail, incident_id)
           SELECT r.id, inc.project_id, 'monitor', inc.started_at, inc.detail, inc.id FROM inc JOIN alert_rule r ON r.project_id = inc.project_id AND 'monitor' = ANY(r.kinds))
         SELECT 1 FROM inc`,
        [e.project_id, e.slug, env, kind, detail]);
      opened += rowCount ?? 0;
    } else if (!kind && s.status === 'ok' && isOpen.has(key)) {
      const { rowCount } = await pool.query(
        'UPDATE monitor_incident SET resolved_at = $4 WHERE project_id = $1 AND monitor_slug = $2 AND environment = $3 AND resolved_at IS NULL',
        [e.project_id, e.slug, env, e.last_at]);
      resolved += rowCount ?? 0;
    }
  }
  return { opened, resolved };
}

export interface IncidentRow {
  id: number;
  monitor_slug: string;
  environment: string;
  kind: string;
  detail: string;
  started_at: Date;
  resolved_at: Date | null;
}

/** A project's latest incidents, newest first (the monitors page). */
export async function listIncidents(pool: pg.Pool, projectId: number, limit = 50): Promise<IncidentRow[]> {
  const { rows } = await pool.query<IncidentRow>(
    'SELECT id, monitor_slug, environment, kind, detail, started_at, resolved_at FROM monitor_incident WHERE project_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2',
    [projectId, limit]);
  return rows;
}

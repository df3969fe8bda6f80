import { createHash } from 'node:crypto';
import type { ProjectRow } from '../storage/projects.js';
import { nextCheckIn, readSchedule } from './cron-schedule.js';
import type { CheckInRow, MonitorEnvRow, MonitorRow } from './queries/monitors.js';

// Monitors and check-ins in Sentry's shapes (its MonitorSerializer and MonitorCheckInSerializer).
// SDKs send monitor_config as {schedule: {type, value, unit}, checkin_margin, max_runtime, …};
// Sentry's `config` spells it {schedule_type, schedule: "0 * * * *" | [n, unit], …}. Health is per
// environment, as in Sentry: `environments[].status` is ok/error from the last finished check-in,
// active before any, missed_checkin once the next expected one is overdue (nextCheckInLatest), and
// error while an in-progress check-in has outrun max_runtime. Durations are milliseconds.

/** Sentry's defaults when a config leaves them out (minutes). */
const DEFAULT_MARGIN_MIN = 1;
const DEFAULT_MAX_RUNTIME_MIN = 30;
const DEFAULT_ENVIRONMENT = 'production';

type Config = Record<string, unknown> | null;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A stable monitor id (Sentry's are GUIDs): a UUID made from the project id and slug. */
export function monitorGuid(projectId: number, slug: string): string {
  const h = createHash('sha1').update(`${projectId}/${slug}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function sentryConfig(c: Config) {
  const s = readSchedule(c);
  return {
    schedule_type: s?.type ?? null,
    schedule: s ? (s.type === 'crontab' ? s.value : [s.value, s.unit!.replace(/s$/, '')]) : null,
    checkin_margin: num(c?.checkin_margin),
    max_runtime: num(c?.max_runtime),
    timezone: typeof c?.timezone === 'string' ? c.timezone : null,
    failure_issue_threshold: num(c?.failure_issue_threshold),
    recovery_threshold: num(c?.recovery_threshold),
    alert_rule_id: null,
  };
}

function margins(c: Config) {
  return { margin: (num(c?.checkin_margin) ?? DEFAULT_MARGIN_MIN) * 60_000, maxRuntime: (num(c?.max_runtime) ?? DEFAULT_MAX_RUNTIME_MIN) * 60_000 };
}

export function serializeMonitorEnvironment(m: MonitorRow, e: MonitorEnvRow, now: number) {
  const schedule = readSchedule(m.config);
  const last = e.last_at.getTime();
  const next = schedule ? nextCheckIn(schedule, last, typeof m.config?.timezone === 'string' ? m.config.timezone : null) : null;
  const { margin, maxRuntime } = margins(m.config);
  const nextLatest = next === null ? null : next + margin;
  let status = e.last_final === 'ok' ? 'ok' : e.last_final === 'error' ? 'error' : 'active';
  if (e.last_status === 'in_progress' && now > last + maxRuntime) status = 'error';
  else if (nextLatest !== null && now > nextLatest) status = 'missed_checkin';
  return {
    name: e.environment ?? DEFAULT_ENVIRONMENT,
    status,
    isMuted: false,
    dateCreated: m.created.toISOString(),
    lastCheckIn: e.last_at.toISOString(),
    nextCheckIn: iso(next),
    nextCheckInLatest: iso(nextLatest),
  };
}

export function serializeMonitor(m: MonitorRow, project: ProjectRow, envs: MonitorEnvRow[], now = Date.now()) {
  const environments = envs
    .map((e) => serializeMonitorEnvironment(m, e, now))
    .sort((a, b) => (a.lastCheckIn < b.lastCheckIn ? 1 : -1));
  const latest = environments[0];
  return {
    id: monitorGuid(m.project_id, m.slug),
    slug: m.slug,
    // Monitors created by an SDK's upsert are named after their slug.
    name: m.slug,
    status: 'active',
    isMuted: false,
    type: 'cron_job',
    config: sentryConfig(m.config),
    dateCreated: m.created.toISOString(),
    project: { id: String(project.id), slug: project.slug, name: project.name, platform: project.platform },
    environments,
    // The most recent environment's, as Sentry's monitor JSON had them before it split by environment.
    lastCheckIn: latest?.lastCheckIn ?? null,
    nextCheckIn: latest?.nextCheckIn ?? null,
  };
}

const dashed = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;

export function serializeCheckIn(c: CheckInRow, monitorConfig: Config, now = Date.now()) {
  const created = c.created.getTime();
  const final = c.status !== 'in_progress';
  let status = c.status;
  // Sentry marks an in-progress check-in that outran max_runtime as timed out.
  if (!final && now > created + margins(c.config ?? monitorConfig).maxRuntime) status = 'timeout';
  // The SDK's duration (seconds) when it sent one; else, for a finished check-in that started with
  // in_progress, the time between the two, as Sentry computes it.
  const duration = c.duration !== null ? Math.round(c.duration * 1000) : final && c.has_progress ? c.updated.getTime() - created : null;
  return {
    id: dashed(c.check_in_id ?? c.first_id.toString(16).padStart(32, '0')),
    environment: c.environment ?? DEFAULT_ENVIRONMENT,
    status,
    duration,
    dateCreated: c.created.toISOString(),
    dateUpdated: c.updated.toISOString(),
    attachmentId: null,
    expectedTime: null,
    monitorConfig: c.config ?? {},
  };
}

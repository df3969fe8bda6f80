import type { HealthRow, ReleaseRow } from './queries/releases.js';

// Release rows → Sentry's release JSON (what sentry-cli `releases list` deserializes: version,
// dateCreated, dateReleased, lastEvent, newGroups, projects[{slug, name}]) with, when asked,
// projects[].healthData in the shape of Sentry's release health overview.

export interface ProjectRef {
  id: number;
  slug: string;
  name: string;
  platform: string | null;
}

const pct = (bad: number, total: number): number | null => (total > 0 ? Math.round((1 - bad / total) * 1e6) / 1e4 : null);

export function serializeHealth(h: HealthRow | undefined, project24h: { sessions: number; users: number } | undefined) {
  const total = h?.total_sessions ?? 0;
  const users = h?.total_users ?? 0;
  return {
    durationP50: null,
    durationP90: null,
    crashFreeSessions: h ? pct(h.sessions_crashed, total) : null,
    crashFreeUsers: h ? pct(h.crashed_users, users) : null,
    totalSessions: total,
    totalSessions24h: h?.total_sessions_24h ?? 0,
    totalProjectSessions24h: project24h?.sessions ?? 0,
    totalUsers: users,
    totalUsers24h: h?.total_users_24h ?? 0,
    totalProjectUsers24h: project24h?.users ?? 0,
    sessionsCrashed: h?.sessions_crashed ?? 0,
    sessionsErrored: h?.sessions_errored ?? 0,
    // Not in Sentry's overview (it folds abnormal into its own status): sessions that ended abnormal.
    sessionsAbnormal: h?.sessions_abnormal ?? 0,
    adoption: project24h?.users ? Math.round(((h?.total_users_24h ?? 0) / project24h.users) * 1e6) / 1e4 : null,
    sessionsAdoption: project24h?.sessions ? Math.round(((h?.total_sessions_24h ?? 0) / project24h.sessions) * 1e6) / 1e4 : null,
    hasHealthData: total > 0,
    stats: {},
  };
}

export function serializeRelease(
  version: string,
  rows: ReleaseRow[],
  projects: Map<number, ProjectRef>,
  health: { rows: Map<string, HealthRow>; project24h: Map<number, { sessions: number; users: number }> } | null,
) {
  const firstSeen = rows.map((r) => [r.first_event, r.first_session]).flat().filter((d): d is Date => !!d).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
  const lastEvent = rows.map((r) => r.last_event).filter((d): d is Date => !!d).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
  const firstEvent = rows.map((r) => r.first_event).filter((d): d is Date => !!d).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
  return {
    id: version,
    version,
    shortVersion: version,
    versionInfo: null,
    ref: null,
    url: null,
    status: 'open',
    // Releases are not created through the API here: a release is dated by its first event or session.
    dateCreated: firstSeen?.toISOString() ?? null,
    dateReleased: null,
    data: {},
    newGroups: rows.reduce((n, r) => n + r.new_issues, 0),
    owner: null,
    commitCount: 0,
    lastCommit: null,
    deployCount: 0,
    lastDeploy: null,
    authors: [] as unknown[],
    firstEvent: firstEvent?.toISOString() ?? null,
    lastEvent: lastEvent?.toISOString() ?? null,
    currentProjectMeta: {},
    userAgent: null,
    projects: rows.map((r) => {
      const p = projects.get(r.project_id);
      const out: Record<string, unknown> = {
        id: r.project_id,
        slug: p?.slug ?? null,
        name: p?.name ?? null,
        platform: p?.platform ?? null,
        platforms: p?.platform ? [p.platform] : [],
        newGroups: r.new_issues,
        hasHealthData: false,
      };
      if (health) {
        const h = health.rows.get(`${r.project_id}\u0000${version}`);
        out.healthData = serializeHealth(h, health.project24h.get(r.project_id));
        out.hasHealthData = (h?.total_sessions ?? 0) > 0;
      }
      return out;
    }),
  };
}

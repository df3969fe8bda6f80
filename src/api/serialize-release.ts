import type { ReleaseHealth } from '../digest/health-query.js';
import type { ReleaseRow } from './queries/releases.js';

// Release rows → Sentry's release JSON (what sentry-cli `releases list` deserializes: version,
// dateCreated, dateReleased, lastEvent, newGroups, projects[{slug, name}]) with, when asked,
// projects[].healthData in the shape of Sentry's release health overview.

export interface ProjectRef {
  id: number;
  slug: string;
  name: string;
  platform: string | null;
}

const pct = (part: number, whole: number | undefined): number | null => (whole ? Math.round((part / whole) * 1e6) / 1e4 : null);

/** A release's health over the period asked, and over the last 24 hours (for adoption). */
export interface HealthInput {
  period: ReleaseHealth | undefined;
  last24h: ReleaseHealth | undefined;
}

export function serializeHealth(h: HealthInput, project24h: { sessions: number; users: number } | undefined) {
  const p = h.period;
  return {
    durationP50: null,
    durationP90: null,
    crashFreeSessions: p?.crashFreeSessions ?? null,
    crashFreeUsers: p?.crashFreeUsers ?? null,
    totalSessions: p?.sessions ?? 0,
    totalSessions24h: h.last24h?.sessions ?? 0,
    totalProjectSessions24h: project24h?.sessions ?? 0,
    totalUsers: p?.users ?? 0,
    totalUsers24h: h.last24h?.users ?? 0,
    totalProjectUsers24h: project24h?.users ?? 0,
    sessionsCrashed: p?.crashed ?? 0,
    // The digest counts crashed and abnormal sessions as errored too; Sentry's "errored" excludes them.
    sessionsErrored: p ? Math.max(0, p.errored - p.crashed - p.abnormal) : 0,
    // Not in Sentry's overview: sessions that ended abnormal (app hang, killed).
    sessionsAbnormal: p?.abnormal ?? 0,
    adoption: pct(h.last24h?.users ?? 0, project24h?.users),
    sessionsAdoption: pct(h.last24h?.sessions ?? 0, project24h?.sessions),
    hasHealthData: (p?.sessions ?? 0) > 0,
    stats: {},
  };
}

export function serializeRelease(
  version: string,
  rows: ReleaseRow[],
  projects: Map<number, ProjectRef>,
  health: { period: Map<string, ReleaseHealth>; last24h: Map<string, ReleaseHealth>; project24h: Map<number, { sessions: number; users: number }> } | null,
) {
  const firstSeen = rows.flatMap((r) => [r.first_event, r.first_session]).filter((d): d is Date => !!d).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
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
        const key = `${r.project_id}\u0000${version}`;
        const h = { period: health.period.get(key), last24h: health.last24h.get(key) };
        out.healthData = serializeHealth(h, health.project24h.get(r.project_id));
        out.hasHealthData = (h.period?.sessions ?? 0) > 0;
      }
      return out;
    }),
  };
}

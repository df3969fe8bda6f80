import type pg from 'pg';

// Releases and their health. A release exists for the API once an event or a session named it:
// events through the `release` tag (tag_value → issue_tag: first/last seen, event count, issues),
// sessions through session_hourly. Health numbers come from the digest's releaseHealth
// (src/digest/health-query.ts, over its hourly session tables), the same numbers the web UI shows;
// a request reads at most hours × releases × environments rows, never single sessions or events.

export interface ReleaseRow {
  project_id: number;
  version: string;
  first_event: Date | null;
  last_event: Date | null;
  event_count: number;
  new_issues: number;
  first_session: Date | null;
}

export async function listReleases(pool: pg.Pool, projectIds: number[], query: string | null): Promise<ReleaseRow[]> {
  const { rows } = await pool.query<ReleaseRow>(
    `WITH ev AS (
       SELECT tv.project_id, tv.value AS version, min(it.first_seen) AS first_event, max(it.last_seen) AS last_event,
              sum(it.count)::bigint AS event_count,
              count(*) FILTER (WHERE it.first_seen <= i.first_seen)::int AS new_issues
         FROM tag_value tv
         JOIN issue_tag it ON it.project_id = tv.project_id AND it.tag_value_id = tv.id
         JOIN issue i ON i.project_id = it.project_id AND i.id = it.issue_id
        WHERE tv.project_id = ANY($1::bigint[]) AND tv.key = 'release'
        GROUP BY tv.project_id, tv.value),
     se AS (
       SELECT s.project_id, d.value AS version, min(s.hour) AS first_session
         FROM session_hourly s JOIN project_dim d ON d.project_id = s.project_id AND d.id = s.release_id
        WHERE s.project_id = ANY($1::bigint[])
        GROUP BY s.project_id, d.value)
     SELECT coalesce(ev.project_id, se.project_id) AS project_id, coalesce(ev.version, se.version) AS version,
            ev.first_event, ev.last_event, coalesce(ev.event_count, 0) AS event_count, coalesce(ev.new_issues, 0) AS new_issues,
            se.first_session
       FROM ev FULL JOIN se ON se.project_id = ev.project_id AND se.version = ev.version
      WHERE $2::text IS NULL OR coalesce(ev.version, se.version) ILIKE '%' || $2 || '%'
      ORDER BY least(ev.first_event, se.first_session) DESC NULLS LAST, 2 DESC`,
    [projectIds, query || null],
  );
  return rows;
}

/** Sessions of each project in the last 24 hours, the denominator of a release's adoption. */
export async function projectSessions24h(pool: pg.Pool, projectIds: number[]): Promise<Map<number, { sessions: number; users: number }>> {
  const { rows } = await pool.query<{ project_id: number; sessions: number; users: number }>(
    `SELECT p.id AS project_id,
            coalesce((SELECT sum(total) FROM session_hourly s WHERE s.project_id = p.id AND s.hour >= now() - interval '24 hours'), 0)::bigint AS sessions,
            coalesce((SELECT count(DISTINCT did_hash) FROM session_user_hourly s WHERE s.project_id = p.id AND s.hour >= now() - interval '24 hours'), 0)::bigint AS users
       FROM unnest($1::bigint[]) AS p(id)`,
    [projectIds],
  );
  return new Map(rows.map((r) => [r.project_id, { sessions: r.sessions, users: r.users }]));
}

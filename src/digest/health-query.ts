import type pg from 'pg';

// Release health per release (protocol §10): crash-free sessions % = 100 × (1 − crashed / total),
// crash-free users % = 100 × (1 − users with a crashed session / users), from session_hourly and
// session_user_hourly. Users are distinct hashed `did`s over the whole period.

export interface ReleaseHealth {
  projectId: number;
  release: string;
  sessions: number;
  errored: number;
  crashed: number;
  abnormal: number;
  users: number;
  crashedUsers: number;
  /** null when there were no sessions (no users) */
  crashFreeSessions: number | null;
  crashFreeUsers: number | null;
}

export interface HealthOptions {
  since?: Date;
  until?: Date;
  environments?: string[];
  releases?: string[];
}

export async function releaseHealth(pool: pg.Pool | pg.ClientBase, projectIds: number[], opts: HealthOptions = {}): Promise<ReleaseHealth[]> {
  const { rows } = await pool.query<{ project_id: number; release: string; total: number; errored: number; crashed: number; abnormal: number; users: number; crashed_users: number }>(
    `WITH env AS (SELECT id, project_id FROM project_dim WHERE kind = 'environment' AND project_id = ANY($1::bigint[]) AND ($4::text[] IS NULL OR value = ANY($4::text[]))),
          rel AS (SELECT id, project_id, value FROM project_dim WHERE kind = 'release' AND project_id = ANY($1::bigint[]) AND ($5::text[] IS NULL OR value = ANY($5::text[]))),
          s AS (SELECT h.project_id, h.release_id, sum(total)::bigint AS total, sum(errored)::bigint AS errored, sum(crashed)::bigint AS crashed, sum(abnormal)::bigint AS abnormal
                  FROM session_hourly h
                 WHERE h.project_id = ANY($1::bigint[]) AND ($2::timestamptz IS NULL OR h.hour >= date_trunc('hour', $2::timestamptz)) AND ($3::timestamptz IS NULL OR h.hour < $3)
                   AND (h.project_id, h.environment_id) IN (SELECT project_id, id FROM env)
                 GROUP BY 1, 2),
          u AS (SELECT project_id, release_id, count(*)::bigint AS users, count(*) FILTER (WHERE crashed)::bigint AS crashed_users
                  FROM (SELECT project_id, release_id, did_hash, bool_or(crashed) AS crashed
                          FROM session_user_hourly h
                         WHERE h.project_id = ANY($1::bigint[]) AND ($2::timestamptz IS NULL OR h.hour >= date_trunc('hour', $2::timestamptz)) AND ($3::timestamptz IS NULL OR h.hour < $3)
                           AND (h.project_id, h.environment_id) IN (SELECT project_id, id FROM env)
                         GROUP BY 1, 2, 3) d
                 GROUP BY 1, 2)
     SELECT rel.project_id, rel.value AS release, coalesce(s.total, 0) AS total, coalesce(s.errored, 0) AS errored, coalesce(s.crashed, 0) AS crashed,
            coalesce(s.abnormal, 0) AS abnormal, coalesce(u.users, 0) AS users, coalesce(u.crashed_users, 0) AS crashed_users
       FROM rel LEFT JOIN s ON s.project_id = rel.project_id AND s.release_id = rel.id
                LEFT JOIN u ON u.project_id = rel.project_id AND u.release_id = rel.id
      WHERE s.total IS NOT NULL OR u.users IS NOT NULL
      ORDER BY rel.project_id, rel.value`,
    [projectIds, opts.since ?? null, opts.until ?? null, opts.environments ?? null, opts.releases ?? null]);
  // Counts arrive as int8 (strings unless the pg int8 parser is installed): make them numbers.
  return rows.map((raw) => {
    const r = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, k === 'release' ? v : Number(v)])) as typeof raw;
    return {
    projectId: r.project_id,
    release: r.release,
    sessions: r.total,
    errored: r.errored,
    crashed: r.crashed,
    abnormal: r.abnormal,
    users: r.users,
    crashedUsers: r.crashed_users,
    crashFreeSessions: r.total > 0 ? 100 * (1 - Math.min(r.crashed, r.total) / r.total) : null,
    crashFreeUsers: r.users > 0 ? 100 * (1 - r.crashed_users / r.users) : null,
    };
  });
}

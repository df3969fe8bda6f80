import type pg from 'pg';

// Release health over time for the releases page, from the digest's hourly session tables
// (session_hourly, session_user_hourly; migrations/0002_digest.sql), bucketed by `bucketSecs`.
// Totals over a period come from the digest's releaseHealth (src/digest/health-query.ts); this adds
// the per-bucket series the charts draw, with the same definitions.
// Crash-free sessions = 1 − crashed / total; crash-free users = 1 − users with a crashed session /
// users (distinct hashed `did` per bucket), as Sentry defines them.

export interface HealthPoint {
  release: string;
  bucket: Date;
  sessions: number;
  crashed: number;
  errored: number;
  abnormal: number;
  users: number;
  crashedUsers: number;
}

export async function releaseHealthSeries(pool: pg.Pool, projectId: number, since: Date, bucketSecs: number): Promise<HealthPoint[]> {
  const { rows } = await pool.query<{ release: string; bucket: Date; sessions: number; crashed: number; errored: number; abnormal: number; users: number; crashed_users: number }>(
    `WITH s AS (
       SELECT release_id, to_timestamp(floor(extract(epoch FROM hour) / $3) * $3) AS bucket,
              sum(total)::bigint AS sessions, sum(crashed)::bigint AS crashed, sum(errored)::bigint AS errored, sum(abnormal)::bigint AS abnormal
         FROM session_hourly WHERE project_id = $1 AND hour >= $2 GROUP BY 1, 2),
     u AS (
       SELECT release_id, to_timestamp(floor(extract(epoch FROM hour) / $3) * $3) AS bucket,
              count(DISTINCT did_hash)::bigint AS users,
              count(DISTINCT did_hash) FILTER (WHERE crashed)::bigint AS crashed_users
         FROM session_user_hourly WHERE project_id = $1 AND hour >= $2 GROUP BY 1, 2)
     SELECT rel.value AS release, coalesce(s.bucket, u.bucket) AS bucket,
            coalesce(s.sessions, 0) AS sessions, coalesce(s.crashed, 0) AS crashed, coalesce(s.errored, 0) AS errored,
            coalesce(s.abnormal, 0) AS abnormal, coalesce(u.users, 0) AS users, coalesce(u.crashed_users, 0) AS crashed_users
       FROM s FULL JOIN u ON u.release_id = s.release_id AND u.bucket = s.bucket
       JOIN project_dim rel ON rel.project_id = $1 AND rel.id = coalesce(s.release_id, u.release_id)
      ORDER BY 1, 2`,
    [projectId, since, bucketSecs],
  );
  return rows.map((r) => ({
    release: r.release,
    bucket: r.bucket,
    sessions: Number(r.sessions),
    crashed: Number(r.crashed),
    errored: Number(r.errored),
    abnormal: Number(r.abnormal),
    users: Number(r.users),
    crashedUsers: Number(r.crashed_users),
  }));
}

/** Events and issues per release (from the issues' tag counts), for releases seen in events. */
export async function releaseEventCounts(pool: pg.Pool, projectId: number): Promise<Map<string, { events: number; issues: number; lastSeen: Date }>> {
  const { rows } = await pool.query<{ release: string; events: number; issues: number; last_seen: Date }>(
    `SELECT tv.value AS release, sum(it.count)::bigint AS events, count(*)::bigint AS issues, max(it.last_seen) AS last_seen
       FROM tag_value tv JOIN issue_tag it ON it.project_id = tv.project_id AND it.tag_value_id = tv.id
      WHERE tv.project_id = $1 AND tv.key = 'release' GROUP BY 1`,
    [projectId],
  );
  return new Map(rows.map((r) => [r.release, { events: Number(r.events), issues: Number(r.issues), lastSeen: r.last_seen }]));
}

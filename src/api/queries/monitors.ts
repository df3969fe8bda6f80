import type pg from 'pg';

// Cron monitors and their check-ins, from the `check_in` rows the digest keeps as sent. There is no
// monitor table: a monitor is a (project, monitor_slug) that has check-ins, its config the latest
// monitor_config sent. All reads go through check_in_monitor (project_id, monitor_slug, received_at).
// Measured with 20 monitors × 43,200 check-ins (one a minute for 30 days, 864k rows): the monitor
// list 3 ms, their environments 410 ms (~20 ms a monitor: a sort of its 30 days), a page of 100
// check-ins 100 ms.

export interface MonitorRow {
  project_id: number;
  slug: string;
  created: Date;
  config: Record<string, unknown> | null;
}

export interface MonitorEnvRow {
  project_id: number;
  slug: string;
  environment: string | null;
  last_at: Date;
  last_status: string;
  /** latest ok/error check-in's status, if any */
  last_final: string | null;
}

/**
 * The monitors (of one project, or all): distinct (project, slug) found by skipping through the
 * index (one probe per monitor, not a scan of every check-in), each with its first check-in time
 * and latest config.
 */
export async function listMonitors(pool: pg.Pool, projectId: number | null, slug?: string): Promise<MonitorRow[]> {
  const { rows } = await pool.query<MonitorRow>(
    `WITH RECURSIVE m AS (
       (SELECT project_id, monitor_slug FROM check_in
         WHERE ($1::bigint IS NULL OR project_id = $1) AND ($2::text IS NULL OR monitor_slug = $2)
         ORDER BY project_id, monitor_slug LIMIT 1)
       UNION ALL
       SELECT n.project_id, n.monitor_slug FROM m, LATERAL (
         SELECT project_id, monitor_slug FROM check_in c
          WHERE (c.project_id, c.monitor_slug) > (m.project_id, m.monitor_slug)
            AND ($1::bigint IS NULL OR c.project_id = $1) AND ($2::text IS NULL OR c.monitor_slug = $2)
          ORDER BY project_id, monitor_slug LIMIT 1) n
     )
     SELECT m.project_id, m.monitor_slug AS slug,
            (SELECT min(received_at) FROM check_in c WHERE c.project_id = m.project_id AND c.monitor_slug = m.monitor_slug) AS created,
            (SELECT monitor_config FROM check_in c WHERE c.project_id = m.project_id AND c.monitor_slug = m.monitor_slug
                AND monitor_config IS NOT NULL ORDER BY received_at DESC LIMIT 1) AS config
       FROM m ORDER BY m.monitor_slug, m.project_id`,
    [projectId, slug ?? null],
  );
  return rows;
}

/** Per monitor and environment: the latest check-in and latest final (ok/error) status, over `days` days. */
export async function monitorEnvironments(pool: pg.Pool, monitors: { project_id: number; slug: string }[], days: number): Promise<MonitorEnvRow[]> {
  if (!monitors.length) return [];
  const { rows } = await pool.query<MonitorEnvRow>(
    `SELECT m.p AS project_id, m.s AS slug, e.environment, e.last_at, e.last_status,
            (SELECT status FROM check_in f WHERE f.project_id = m.p AND f.monitor_slug = m.s
                AND f.environment IS NOT DISTINCT FROM e.environment AND f.status <> 'in_progress'
              ORDER BY received_at DESC LIMIT 1) AS last_final
       FROM unnest($1::bigint[], $2::text[]) AS m(p, s),
       LATERAL (SELECT DISTINCT ON (environment) environment, received_at AS last_at, status AS last_status
                  FROM check_in c WHERE c.project_id = m.p AND c.monitor_slug = m.s
                   AND c.received_at >= now() - make_interval(days => $3)
                 ORDER BY environment, received_at DESC, id DESC) e`,
    [monitors.map((m) => m.project_id), monitors.map((m) => m.slug), days],
  );
  return rows;
}

export interface CheckInRow {
  /** check_in_id as sent (32 hex), or null when the SDK sent none */
  check_in_id: string | null;
  first_id: number;
  created: Date;
  updated: Date;
  status: string;
  /** seconds, as the SDK sent it with its final status */
  duration: number | null;
  environment: string | null;
  config: Record<string, unknown> | null;
  has_progress: boolean;
}

/**
 * A monitor's check-ins, newest first: the rows sent for one check_in_id (in_progress, then ok or
 * error) are one check-in, created when the first arrived, with the latest status and duration. A
 * row with the all-zero id updates the monitor's latest in-progress check-in before it. "Before" and
 * "latest" follow arrival (archive row, then item), not the row id: two digest lanes may insert rows
 * of different payloads in either order (test/api/extras.test.ts saw it). Rows older
 * than `days` days are not read; pages are keyset positions on the first row's id.
 */
export async function listCheckIns(
  pool: pg.Pool,
  q: { projectId: number; slug: string; days: number; limit: number; beforeId: number | null; afterId: number | null },
): Promise<{ rows: CheckInRow[]; more: boolean }> {
  const back = q.afterId !== null;
  const { rows } = await pool.query<CheckInRow>(
    `WITH r AS (
       SELECT c.id, c.archive_id, c.item_index, c.received_at, c.status, c.duration, c.environment, c.monitor_config,
              CASE WHEN c.check_in_id = '00000000-0000-0000-0000-000000000000' THEN
                (SELECT p.check_in_id::text FROM check_in p WHERE p.project_id = c.project_id AND p.monitor_slug = c.monitor_slug
                    AND p.status = 'in_progress' AND (p.archive_id, p.item_index) < (c.archive_id, c.item_index)
                    AND p.check_in_id <> '00000000-0000-0000-0000-000000000000'
                  ORDER BY p.archive_id DESC, p.item_index DESC LIMIT 1)
              ELSE c.check_in_id::text END AS k
         FROM check_in c
        WHERE c.project_id = $1 AND c.monitor_slug = $2 AND c.received_at >= now() - make_interval(days => $3)
     )
     SELECT replace(k, '-', '') AS check_in_id, min(id) AS first_id, min(received_at) AS created, max(received_at) AS updated,
            (array_agg(status ORDER BY archive_id DESC, item_index DESC))[1] AS status,
            (array_agg(duration ORDER BY archive_id DESC, item_index DESC) FILTER (WHERE duration IS NOT NULL AND status <> 'in_progress'))[1] AS duration,
            (array_agg(environment ORDER BY archive_id, item_index) FILTER (WHERE environment IS NOT NULL))[1] AS environment,
            (array_agg(monitor_config ORDER BY archive_id DESC, item_index DESC) FILTER (WHERE monitor_config IS NOT NULL))[1] AS config,
            bool_or(status = 'in_progress') AS has_progress
       FROM r GROUP BY coalesce(k, 'row ' || id), k
     HAVING ($4::bigint IS NULL OR min(id) < $4) AND ($5::bigint IS NULL OR min(id) > $5)
      ORDER BY min(id) ${back ? 'ASC' : 'DESC'}
      LIMIT $6`,
    [q.projectId, q.slug, q.days, q.beforeId, q.afterId, q.limit + 1],
  );
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  if (back) page.reverse();
  return { rows: page, more };
}

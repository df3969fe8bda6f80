import type pg from 'pg';

// Tag distributions of an issue from issue_tag (per issue and tag value: count, first/last seen),
// maintained by the digest; a read is one index range on issue_tag's primary key.

export interface TagKeyRow {
  key: string;
  total_values: number;
  unique_values: number;
}

export interface TagValueRow {
  key: string;
  value: string;
  count: number;
  first_seen: Date;
  last_seen: Date;
}

export async function issueTagKeys(pool: pg.Pool, projectId: number, issueId: number): Promise<TagKeyRow[]> {
  const { rows } = await pool.query<TagKeyRow>(
    `SELECT tv.key, sum(it.count)::bigint AS total_values, count(*)::int AS unique_values
       FROM issue_tag it JOIN tag_value tv ON tv.project_id = it.project_id AND tv.id = it.tag_value_id
      WHERE it.project_id = $1 AND it.issue_id = $2
      GROUP BY tv.key ORDER BY tv.key`,
    [projectId, issueId],
  );
  return rows;
}

/** The most frequent values of tags of an issue (all keys, or the given ones), `limit` per key. */
export async function issueTagValues(pool: pg.Pool, projectId: number, issueId: number, keys: string[] | null, limit: number, offset = 0): Promise<TagValueRow[]> {
  const { rows } = await pool.query<TagValueRow>(
    `SELECT key, value, count, first_seen, last_seen FROM (
       SELECT tv.key, tv.value, it.count, it.first_seen, it.last_seen,
              row_number() OVER (PARTITION BY tv.key ORDER BY it.count DESC, tv.value) AS n
         FROM issue_tag it JOIN tag_value tv ON tv.project_id = it.project_id AND tv.id = it.tag_value_id
        WHERE it.project_id = $1 AND it.issue_id = $2 AND ($3::text[] IS NULL OR tv.key = ANY($3::text[]))) x
      WHERE n > $5 AND n <= $5 + $4
      ORDER BY key, n`,
    [projectId, issueId, keys, limit, offset],
  );
  return rows;
}

// Labels as Sentry's UI names common keys; others are the key itself.
const LABELS: Record<string, string> = {
  level: 'Level', release: 'Release', environment: 'Environment', user: 'User', url: 'URL', browser: 'Browser',
  'browser.name': 'Browser.Name', os: 'OS', 'os.name': 'OS.Name', runtime: 'Runtime', 'runtime.name': 'Runtime.Name',
  server_name: 'Server', transaction: 'Transaction', logger: 'Logger', handled: 'Handled', mechanism: 'Mechanism',
  device: 'Device', 'device.family': 'Device.Family', dist: 'Dist',
};

export function tagLabel(key: string): string {
  return LABELS[key] ?? key;
}

import { randomUUID } from 'node:crypto';
import type pg from 'pg';

// Writes issues, reports, tags and sessions straight into the digest's tables (migrations/0002), the
// way the digest stores them, so API tests can set up exact counts and times without a worker.

export interface SeedIssue {
  title: string;
  level?: string;
  status?: 'unresolved' | 'resolved' | 'ignored';
  substatus?: string | null;
  firstSeen: Date;
  lastSeen: Date;
  events?: number;
  users?: number;
  culprit?: string;
  platform?: string;
  tags?: Record<string, string>;
  /** events to insert as report rows (each gets the tags); default min(events, 3) */
  reports?: number;
  handled?: boolean;
}

async function tagValueId(pool: pg.Pool, projectId: number, key: string, value: string): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO tag_value (project_id, key, value) VALUES ($1, $2, $3)
     ON CONFLICT (project_id, key, value) DO UPDATE SET key = EXCLUDED.key RETURNING id`,
    [projectId, key, value],
  );
  return Number(rows[0]!.id);
}

export async function projectDim(pool: pg.Pool, projectId: number, kind: string, value: string): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO project_dim (project_id, kind, value) VALUES ($1, $2, $3)
     ON CONFLICT (project_id, kind, value) DO UPDATE SET kind = EXCLUDED.kind RETURNING id`,
    [projectId, kind, value],
  );
  return Number(rows[0]!.id);
}

let archiveSeq = 0;

export async function seedIssue(pool: pg.Pool, projectId: number, s: SeedIssue): Promise<{ id: number; shortId: number; eventIds: string[] }> {
  const { rows: pr } = await pool.query<{ n: number }>('UPDATE project SET next_short_id = next_short_id + 1 WHERE id = $1 RETURNING next_short_id - 1 AS n', [projectId]);
  const shortId = Number(pr[0]!.n);
  const hash = randomUUID().replace(/-/g, '');
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO issue (project_id, short_id, first_seen, last_seen, last_received, event_count, user_count, status, substatus,
                        primary_hash, grouping_config, type, level, platform, title, culprit, metadata, grouping)
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, 'newstyle:2023-01-11', 'error', $10, $11, $12, $13, $14, $15)
     RETURNING id`,
    [projectId, shortId, s.firstSeen, s.lastSeen, s.events ?? 1, s.users ?? 0, s.status ?? 'unresolved', s.substatus === undefined ? 'new' : s.substatus,
     hash, s.level ?? 'error', s.platform ?? 'python', s.title, s.culprit ?? 'app.main in handler',
     JSON.stringify({ type: s.title.split(':')[0], value: s.title.split(': ')[1] ?? '' }),
     JSON.stringify({ config: 'newstyle:2023-01-11', primary_hash: hash, hashes: [hash], variants: { app: { name: 'app', hash, contributes: true, hint: null, component: { id: 'app', contributes: true, values: [] } } } })],
  );
  const id = Number(rows[0]!.id);
  await pool.query(`INSERT INTO issue_hash (project_id, hash, issue_id, grouping_config) VALUES ($1, $2, $3, 'newstyle:2023-01-11')`, [projectId, hash, id]);
  const tagIds: number[] = [];
  for (const [k, v] of Object.entries(s.tags ?? {})) {
    const tv = await tagValueId(pool, projectId, k, v);
    tagIds.push(tv);
    await pool.query(
      'INSERT INTO issue_tag (project_id, issue_id, tag_value_id, count, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6)',
      [projectId, id, tv, s.events ?? 1, s.firstSeen, s.lastSeen],
    );
  }
  const n = s.reports ?? Math.min(s.events ?? 1, 3);
  const eventIds: string[] = [];
  const releaseId = s.tags?.release ? await projectDim(pool, projectId, 'release', s.tags.release) : null;
  const envId = s.tags?.environment ? await projectDim(pool, projectId, 'environment', s.tags.environment) : null;
  for (let i = 0; i < n; i++) {
    const eid = randomUUID().replace(/-/g, '');
    eventIds.push(eid);
    const t = new Date(s.firstSeen.getTime() + ((s.lastSeen.getTime() - s.firstSeen.getTime()) * i) / Math.max(1, n - 1));
    await pool.query(
      `INSERT INTO report (project_id, issue_id, archive_id, timestamp, received_at, event_id, item_index, handled, release_id, environment_id, tag_ids, message, exception_value)
       VALUES ($1, $2, $3, $4, $4, $5::uuid, 0, $6, $7, $8, $9, $10, $11)`,
      [projectId, id, ++archiveSeq, t, eid, s.handled ?? true, releaseId, envId, tagIds, s.title, s.title.split(': ')[1] ?? null],
    );
  }
  return { id, shortId, eventIds };
}

export async function seedSessions(pool: pg.Pool, projectId: number, release: string, environment: string, hour: Date, c: { total: number; errored: number; crashed: number; abnormal?: number; users: { did: number; crashed: boolean }[] }): Promise<void> {
  const rel = await projectDim(pool, projectId, 'release', release);
  const env = await projectDim(pool, projectId, 'environment', environment);
  await pool.query(
    `INSERT INTO session_hourly (project_id, hour, release_id, environment_id, total, errored, crashed, abnormal, exited)
     VALUES ($1, date_trunc('hour', $2::timestamptz), $3, $4, $5, $6, $7, $8, $5 - $6)`,
    [projectId, hour, rel, env, c.total, c.errored, c.crashed, c.abnormal ?? 0],
  );
  for (const u of c.users) {
    await pool.query(
      `INSERT INTO session_user_hourly (project_id, hour, release_id, environment_id, did_hash, crashed) VALUES ($1, date_trunc('hour', $2::timestamptz), $3, $4, $5, $6)`,
      [projectId, hour, rel, env, u.did, u.crashed],
    );
  }
}

import type pg from 'pg';
import type { ProjectKeyRow } from '../../storage/projects.js';

// Project keys (DSNs) and the facts the project JSON shows: first event and whether sessions arrived.

export async function listProjectKeys(pool: pg.Pool, projectId: number): Promise<(ProjectKeyRow & { created_at: Date })[]> {
  const { rows } = await pool.query<ProjectKeyRow & { created_at: Date }>(
    'SELECT public_key, project_id, label, disabled, created_at FROM project_key WHERE project_id = $1 ORDER BY created_at, public_key',
    [projectId],
  );
  return rows;
}

export interface Facts {
  firstEvent: Date | null;
  hasSessions: boolean;
}

export async function projectFacts(pool: pg.Pool, projectId?: number): Promise<Map<number, Facts>> {
  // Per project: its oldest issue's first event (index on issue (project_id, status, first_seen)) and
  // whether any session hour exists (session_hourly's primary key starts with project_id).
  const { rows } = await pool.query<{ id: number; first_event: Date | null; has_sessions: boolean }>(
    `SELECT p.id,
            (SELECT min(i.first_seen) FROM issue i WHERE i.project_id = p.id) AS first_event,
            EXISTS (SELECT 1 FROM session_hourly s WHERE s.project_id = p.id) AS has_sessions
       FROM project p WHERE $1::bigint IS NULL OR p.id = $1`,
    [projectId ?? null],
  );
  return new Map(rows.map((r) => [r.id, { firstEvent: r.first_event, hasSessions: r.has_sessions }]));
}

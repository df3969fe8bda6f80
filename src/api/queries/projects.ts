import type pg from 'pg';
import type { ProjectKeyRow } from '../../storage/projects.js';

// Project facts the project JSON shows: first event (firstEvent) and whether sessions arrived.

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
  // Filled in once the digest schema exists (first issue's first_seen, any session row).
  void pool;
  void projectId;
  return new Map();
}

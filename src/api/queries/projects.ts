import type pg from 'pg';

// The facts the project JSON shows: first event and whether sessions arrived (keys: src/storage/project-keys.ts).

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

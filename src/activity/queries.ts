import type pg from 'pg';

// Reading the activity log (table issue_activity) in Sentry's activity shape:
// {id, type, data, dateCreated, user} with the user as Sentry's user serializer names its fields.

export interface ActivityRow {
  id: string;
  project_id: string;
  issue_id: string;
  user_id: string | null;
  user_email: string | null;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = `a.id, a.project_id, a.issue_id, a.user_id, u.email AS user_email, a.type, a.data, a.created_at
  FROM issue_activity a LEFT JOIN ui_user u ON u.id = a.user_id`;

/** Sentry's group details show at most this many entries; older ones stay in the table. */
export const ACTIVITY_SHOWN = 100;

/** An issue's activity, newest first (Sentry's order); `type` limits it to one kind (comments: 'note'). */
export async function listActivity(db: pg.Pool | pg.ClientBase, issue: { project_id: number; id: number }, opts: { type?: string; limit?: number } = {}): Promise<ActivityRow[]> {
  const { rows } = await db.query<ActivityRow>(
    `SELECT ${COLUMNS} WHERE a.issue_id = $2 AND a.project_id = $1 AND ($3::text IS NULL OR a.type = $3)
      ORDER BY a.id DESC LIMIT $4`,
    [issue.project_id, issue.id, opts.type ?? null, opts.limit ?? ACTIVITY_SHOWN],
  );
  return rows;
}

export async function activityById(db: pg.Pool | pg.ClientBase, issue: { project_id: number; id: number }, id: string): Promise<ActivityRow | null> {
  const { rows } = await db.query<ActivityRow>(`SELECT ${COLUMNS} WHERE a.id = $3 AND a.issue_id = $2 AND a.project_id = $1`, [issue.project_id, issue.id, id]);
  return rows[0] ?? null;
}

/** A user as Sentry's activity and assignee fields show one (we know users by e-mail). */
export function userJson(id: string | number, email: string) {
  return { id: String(id), name: email, username: email, email, avatarUrl: null, isActive: true, has2fa: false };
}

export function serializeActivity(r: ActivityRow) {
  return {
    id: String(r.id),
    type: r.type,
    data: r.data,
    dateCreated: r.created_at.toISOString(),
    user: r.user_id !== null && r.user_email !== null ? userJson(r.user_id, r.user_email) : null,
  };
}

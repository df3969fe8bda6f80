import type pg from 'pg';
import { canSeeProject, userSeesProjectSql } from '../auth/access.js';
import { sessionPrincipal } from '../auth/principal.js';
import { recordActivities } from '../activity/record.js';
import { queueNotices } from '../notices/queue.js';
import { HttpError } from '../http/errors.js';
import type { UserRow } from '../ui/users.js';

// Who an issue is assigned to (table issue_assignee, one user per issue: Sentry's GroupAssignee
// without teams). Sentry's `assignedTo` names the user by e-mail, username or "user:ID"; "" or null
// unassigns. Only a user who can see the issue's project can be its assignee.

export interface Assignee {
  id: number;
  email: string;
}

/**
 * Reads Sentry's `assignedTo` value: null for "unassign", else the user, checked against every
 * project the change touches. 400 naming the problem otherwise (nothing has changed yet).
 */
export async function resolveAssignee(db: pg.Pool | pg.ClientBase, value: unknown, projects: { id: number; slug: string }[]): Promise<Assignee | null> {
  if (value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > 254) throw new HttpError('invalid_request', 'assignedTo must be a user\'s e-mail, "user:<id>", or "" to unassign');
  if (value.startsWith('team:')) throw new HttpError('invalid_request', 'assignedTo: there are no teams here; assign a user (e-mail or "user:<id>")');
  const byId = /^user:(\d{1,15})$/.exec(value);
  if (value.startsWith('user:') && !byId) throw new HttpError('invalid_request', `assignedTo: ${JSON.stringify(value)} is not "user:<numeric id>"`);
  const { rows } = await db.query<UserRow>(
    byId ? 'SELECT id, email, role, all_projects, created_at FROM ui_user WHERE id = $1' : 'SELECT id, email, role, all_projects, created_at FROM ui_user WHERE lower(email) = lower($1)',
    [byId ? byId[1] : value.trim()],
  );
  const user = rows[0];
  if (!user) throw new HttpError('invalid_request', `assignedTo: no user ${JSON.stringify(value)}`);
  const p = await sessionPrincipal(db, user);
  const hidden = projects.find((x) => !canSeeProject(p, x.id));
  if (hidden) throw new HttpError('invalid_request', `assignedTo: ${user.email} cannot see project ${hidden.slug}, so cannot be assigned its issues`);
  return { id: Number(user.id), email: user.email };
}

/**
 * Assigns (or, with null, unassigns) the issues, in the caller's transaction; writes an `assigned`
 * or `unassigned` entry for each issue whose assignee this changes, and with `notify` (SMTP_URL is
 * set) queues the e-mail to the new assignee. Issues deleted meanwhile are skipped (their rows are
 * locked against deletion first).
 */
export async function assignIssues(client: pg.ClientBase, ids: number[], assignee: Assignee | null, actor: number | null, notify: boolean): Promise<void> {
  const { rows: live } = await client.query<{ project_id: string; id: string }>(
    'SELECT project_id, id FROM issue WHERE id = ANY($1::bigint[]) ORDER BY id FOR KEY SHARE',
    [ids],
  );
  const pids = live.map((r) => r.project_id);
  const iids = live.map((r) => r.id);
  if (!assignee) {
    const { rows } = await client.query<{ project_id: string; issue_id: string }>(
      `DELETE FROM issue_assignee WHERE (project_id, issue_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
       RETURNING project_id, issue_id`,
      [pids, iids],
    );
    await recordActivities(client, rows.map((r) => ({ projectId: r.project_id, issueId: r.issue_id })), { userId: actor, type: 'unassigned' });
    return;
  }
  const { rows } = await client.query<{ project_id: string; issue_id: string }>(
    `INSERT INTO issue_assignee AS a (project_id, issue_id, user_id, assigned_by)
     SELECT p, i, $3, $4 FROM unnest($1::bigint[], $2::bigint[]) AS t(p, i)
     ON CONFLICT (project_id, issue_id) DO UPDATE SET user_id = EXCLUDED.user_id, assigned_by = EXCLUDED.assigned_by, assigned_at = now()
      WHERE a.user_id <> EXCLUDED.user_id
     RETURNING project_id, issue_id`,
    [pids, iids, assignee.id, actor],
  );
  const entries = await recordActivities(client, rows.map((r) => ({ projectId: r.project_id, issueId: r.issue_id })), {
    userId: actor, type: 'assigned', data: { assignee: String(assignee.id), assigneeEmail: assignee.email, assigneeType: 'user' },
  });
  if (notify) await queueNotices(client, entries);
}

/** Users who can see a project (the choices of the UI's assignee select), by e-mail. */
export async function assignableUsers(db: pg.Pool, projectId: number): Promise<Assignee[]> {
  const { rows } = await db.query<{ id: string; email: string }>(
    `SELECT id, email FROM ui_user u
      WHERE ${userSeesProjectSql('u', '$1')}
      ORDER BY lower(email)`,
    [projectId],
  );
  return rows.map((r) => ({ id: Number(r.id), email: r.email }));
}

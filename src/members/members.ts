import type pg from 'pg';
import { HttpError } from '../http/errors.js';
import type { Principal } from '../auth/principal.js';
import { isRole, ROLES, type Role } from '../auth/scopes.js';
import { transaction } from '../storage/transaction.js';
import { checkProjects, checkRemove, checkRoleChange, LAST_OWNER } from './rules.js';

// The organization's members as the Members page, the members API and the CLI see and change them:
// users (ui_user) with their role and projects. Every change runs in a transaction that locks the
// user's row first and, when an owner would stop being one, every owner's row, so the "last owner"
// check and the change cannot be separated by another request. `actor` null: the CLI on the host,
// which is bound only by the last-owner rule.

export interface Member {
  id: number;
  email: string;
  role: Role;
  all_projects: boolean;
  /** the projects a limited member sees (empty when all_projects) */
  project_ids: number[];
  email_alerts: boolean;
  /** e-mail about issues assigned to them or they take part in (src/notices/) */
  email_workflow: boolean;
  /** false: a user made by single sign-on who has no password here */
  has_password: boolean;
  /** two-factor log-in is on (src/members/two-factor.ts) */
  has_2fa: boolean;
  created_at: Date;
  last_login: Date | null;
}

const SELECT = `SELECT u.id::int, u.email, u.role, u.all_projects, u.email_alerts, u.email_workflow, u.password_hash IS NOT NULL AS has_password, u.totp_secret IS NOT NULL AS has_2fa, u.created_at,
  coalesce((SELECT array_agg(m.project_id::int ORDER BY m.project_id) FROM project_member m WHERE m.user_id = u.id), '{}') AS project_ids,
  (SELECT max(s.created_at) FROM ui_session s WHERE s.user_id = u.id) AS last_login
  FROM ui_user u`;

export async function listMembers(db: pg.Pool | pg.ClientBase): Promise<Member[]> {
  return (await db.query<Member>(`${SELECT} ORDER BY u.id`)).rows;
}

export async function getMember(db: pg.Pool | pg.ClientBase, id: number): Promise<Member | null> {
  return (await db.query<Member>(`${SELECT} WHERE u.id = $1`, [id])).rows[0] ?? null;
}

export async function memberByEmail(db: pg.Pool | pg.ClientBase, email: string): Promise<Member | null> {
  return (await db.query<Member>(`${SELECT} WHERE lower(u.email) = lower($1)`, [email.trim()])).rows[0] ?? null;
}

export function parseRole(v: unknown, what = 'role'): Role {
  if (typeof v !== 'string' || !isRole(v)) throw new HttpError('invalid_request', `${what} must be one of ${ROLES.join(', ')}`);
  return v;
}

async function lockUser(client: pg.ClientBase, id: number): Promise<{ id: number; role: Role }> {
  const { rows } = await client.query<{ id: number; role: Role }>('SELECT id::int, role FROM ui_user WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new HttpError('not_found', `no member ${id}`);
  return rows[0];
}

/** Throws when `target` is an owner and the only one (locking every owner's row until the commit). */
async function refuseLastOwner(client: pg.ClientBase, target: { role: Role }): Promise<void> {
  if (target.role !== 'owner') return;
  const { rows } = await client.query('SELECT id FROM ui_user WHERE role = \'owner\' ORDER BY id FOR UPDATE');
  if (rows.length <= 1) throw new HttpError('forbidden', LAST_OWNER);
}

export async function changeRole(db: pg.Pool, actor: Principal | null, userId: number, role: Role): Promise<Member> {
  await transaction(db, async (client) => {
    const target = await lockUser(client, userId);
    if (actor) checkRoleChange(actor, target, role);
    if (role !== 'owner') await refuseLastOwner(client, target);
    await client.query('UPDATE ui_user SET role = $2 WHERE id = $1', [userId, role]);
  });
  return (await getMember(db, userId))!;
}

/**
 * Limits a user to some projects (`projectIds`), or gives them every project (null). Owners and admins
 * see every project whatever this says (src/auth/principal.ts); it matters for members and viewers.
 */
export async function setMemberProjects(db: pg.Pool, actor: Principal | null, userId: number, projectIds: readonly number[] | null): Promise<Member> {
  await transaction(db, async (client) => {
    const target = await lockUser(client, userId);
    if (actor) checkProjects(actor, target);
    await client.query('UPDATE ui_user SET all_projects = $2 WHERE id = $1', [userId, projectIds === null]);
    await client.query('DELETE FROM project_member WHERE user_id = $1', [userId]);
    if (projectIds !== null) {
      await client.query('INSERT INTO project_member (user_id, project_id) SELECT $1, p.id FROM project p WHERE p.id = ANY($2::bigint[])', [userId, projectIds]);
    }
  });
  return (await getMember(db, userId))!;
}

/** Deletes a user; their sessions and API tokens go with them (foreign keys ON DELETE CASCADE). */
export async function removeMember(db: pg.Pool, actor: Principal | null, userId: number): Promise<void> {
  await transaction(db, async (client) => {
    const target = await lockUser(client, userId);
    if (actor) checkRemove(actor, target);
    await refuseLastOwner(client, target);
    await client.query('DELETE FROM ui_user WHERE id = $1', [userId]);
  });
}

/** Project slugs (or ids) → ids; an unknown one is a 400 naming it. */
export async function projectIdsOf(db: pg.Pool | pg.ClientBase, refs: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const ref of refs) {
    const id = /^\d{1,15}$/.test(ref) ? Number(ref) : null;
    const { rows } = await db.query<{ id: number }>('SELECT id::int FROM project WHERE slug = $1 OR id = $2 ORDER BY slug = $1 DESC LIMIT 1', [ref, id]);
    if (!rows[0]) throw new HttpError('invalid_request', `no project ${JSON.stringify(ref)}`);
    if (!out.includes(rows[0].id)) out.push(rows[0].id);
  }
  return out;
}

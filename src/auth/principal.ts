import type pg from 'pg';
import { expandScopes, ROLE_SCOPES, type Role, type Scope } from './scopes.js';

// Who is asking: a UI session's user or an API token, reduced to the same three facts every route
// checks — the scopes granted, the projects visible, and the user (for "me", authors, activity).

export interface Principal {
  kind: 'session' | 'token';
  /** null: a token made on the host with crash-cache-cli, which belongs to no user */
  userId: number | null;
  email: string | null;
  role: Role;
  /** expanded (implied scopes included) and capped by the role */
  scopes: ReadonlySet<Scope>;
  /** null: every project; else the ids of the projects this principal may see */
  projectIds: readonly number[] | null;
  tokenId: number | null;
}

interface UserFacts {
  id: number;
  email: string;
  role: Role;
  all_projects: boolean;
}

async function memberProjects(db: pg.Pool | pg.ClientBase, user: UserFacts): Promise<number[] | null> {
  if (user.all_projects || user.role === 'owner' || user.role === 'admin') return null;
  const { rows } = await db.query<{ project_id: string }>('SELECT project_id FROM project_member WHERE user_id = $1', [user.id]);
  return rows.map((r) => Number(r.project_id));
}

/** A logged-in user: everything their role grants. */
export async function sessionPrincipal(db: pg.Pool | pg.ClientBase, user: UserFacts): Promise<Principal> {
  return {
    kind: 'session', userId: Number(user.id), email: user.email, role: user.role,
    scopes: expandScopes(ROLE_SCOPES[user.role]), projectIds: await memberProjects(db, user), tokenId: null,
  };
}

/**
 * A token: its own scopes, capped at every use by its user's current role (so demoting a user narrows
 * their tokens at once). A token without a user was made on the host and is capped by nothing else.
 */
export async function tokenPrincipal(db: pg.Pool | pg.ClientBase, token: { id: number; scopes: string[]; user_id: number | null }): Promise<Principal | null> {
  const own = expandScopes(token.scopes);
  if (token.user_id === null) {
    return { kind: 'token', userId: null, email: null, role: 'owner', scopes: own, projectIds: null, tokenId: Number(token.id) };
  }
  const { rows } = await db.query<UserFacts>('SELECT id, email, role, all_projects FROM ui_user WHERE id = $1', [token.user_id]);
  const user = rows[0];
  if (!user) return null;
  const allowed = expandScopes(ROLE_SCOPES[user.role]);
  const scopes = new Set([...own].filter((s) => allowed.has(s)));
  return { kind: 'token', userId: Number(user.id), email: user.email, role: user.role, scopes, projectIds: await memberProjects(db, user), tokenId: Number(token.id) };
}

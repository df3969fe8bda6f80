import { HttpError } from '../http/errors.js';
import type { Principal } from './principal.js';
import type { Scope } from './scopes.js';

// The checks every API route and UI action makes. A refusal is a 403 naming what is missing
// (Sentry's text first, so its clients recognise it), and it is made before anything changes.

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has(scope);
}

export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope)) {
    const who = p.kind === 'token' ? 'this token' : `your role (${p.role})`;
    throw new HttpError('forbidden', `You do not have permission to perform this action: ${who} lacks the ${scope} scope`);
  }
}

export function canSeeProject(p: Principal, projectId: number | string): boolean {
  return p.projectIds === null || p.projectIds.includes(Number(projectId));
}

/** For a project named in the path: 403 when the principal is not a member of it. */
export function requireProjectAccess(p: Principal, projectId: number | string): void {
  if (!canSeeProject(p, projectId)) throw new HttpError('forbidden', 'You do not have permission to perform this action: you are not a member of this project');
}

/** SQL-friendly filter: null (all projects) or the visible project ids, for `project_id = ANY($n)`. */
export function visibleProjects(p: Principal): number[] | null {
  return p.projectIds === null ? null : [...p.projectIds];
}

/**
 * SQL condition: UI user `u` (an alias of ui_user) sees project `projectId` (an SQL expression) —
 * the rule sessionPrincipal applies to a session, for queries that pick users (e-mail recipients,
 * assignable users): owners, admins and users of every project see all; members their projects.
 */
export function userSeesProjectSql(u: string, projectId: string): string {
  return `(${u}.all_projects OR ${u}.role IN ('owner', 'admin')
           OR EXISTS (SELECT 1 FROM project_member m WHERE m.user_id = ${u}.id AND m.project_id = ${projectId}))`;
}

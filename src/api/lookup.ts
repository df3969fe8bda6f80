import type pg from 'pg';
import type { Config } from '../config/index.js';
import { HttpError } from '../http/errors.js';
import { getProject, listProjects, type ProjectRow } from '../storage/projects.js';
import { canSeeProject, requireProjectAccess } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { getIssue, type IssueRow } from './queries/issues.js';

// Resolving the {org}, {project} and {issue_id} path segments for a principal. Sentry answers an
// unknown one with 404 {"detail": "The requested resource does not exist"}; sentry-cli maps that 404
// to "project not found". A project the principal is not a member of is a 403 (Sentry's answer);
// an issue or event of such a project is a 404, as if it did not exist: ids are guessable.

const NOT_FOUND = 'The requested resource does not exist';

export function requireOrg(config: Config, org: string): void {
  if (org !== config.organizationSlug) throw new HttpError('not_found', NOT_FOUND);
}

export async function requireProject(pool: pg.Pool, config: Config, org: string, project: string, who: Principal): Promise<ProjectRow> {
  requireOrg(config, org);
  // {project} is a slug; a numeric id is accepted too (Sentry accepts ids in a few places).
  const p = await getProject(pool, project);
  if (!p) throw new HttpError('not_found', NOT_FOUND);
  requireProjectAccess(who, p.id);
  return p;
}

/** The projects the principal may see, in listProjects' order. */
export async function visibleProjectRows(pool: pg.Pool, who: Principal): Promise<ProjectRow[]> {
  const all = await listProjects(pool);
  return who.projectIds === null ? all : all.filter((p) => canSeeProject(who, p.id));
}

/** An issue by id (or short id), 404 when it does not exist or belongs to a project the principal cannot see. */
export async function requireIssue(pool: pg.Pool, ref: string | number, who: Principal): Promise<IssueRow> {
  const row = await getIssue(pool, ref);
  if (!row || !canSeeProject(who, row.project_id)) throw new HttpError('not_found', NOT_FOUND);
  return row;
}

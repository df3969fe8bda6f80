import type pg from 'pg';
import type { Config } from '../config/index.js';
import { HttpError } from '../http/errors.js';
import { getProject, type ProjectRow } from '../storage/projects.js';

// Resolving the {org} and {project} path segments. Sentry answers an unknown one with 404
// {"detail": "The requested resource does not exist"}; sentry-cli maps that 404 to "project not found".

export function requireOrg(config: Config, org: string): void {
  if (org !== config.organizationSlug) throw new HttpError('not_found', 'The requested resource does not exist');
}

export async function requireProject(pool: pg.Pool, config: Config, org: string, project: string): Promise<ProjectRow> {
  requireOrg(config, org);
  // {project} is a slug; a numeric id is accepted too (Sentry accepts ids in a few places).
  const p = await getProject(pool, project);
  if (!p) throw new HttpError('not_found', 'The requested resource does not exist');
  return p;
}

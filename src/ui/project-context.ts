import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { getProject, type ProjectRow } from '../storage/projects.js';
import { requireProjectAccess, requireScope } from '../auth/access.js';
import type { Scope } from '../auth/scopes.js';
import { uiPrincipal } from './auth.js';
import type { Session } from './sessions.js';
import type { Principal } from '../auth/principal.js';

/**
 * The project a page is about, for a user who may do `need` there: 404 for an unknown slug, 403 (an
 * error page) when the user is not a member of the project or their role lacks the scope.
 */
export async function projectBySlug(ctx: AppContext, slug: string, session: Session, need: Scope): Promise<ProjectRow> {
  const who = await uiPrincipal(ctx, session);
  return projectFor(ctx, slug, who, need);
}

/** projectBySlug for a caller that already has the Principal. */
export async function projectFor(ctx: AppContext, slug: string, who: Principal, need: Scope): Promise<ProjectRow> {
  const p = /^[a-z0-9-]{1,100}$/.test(slug) ? await getProject(ctx.db.pool, slug) : null;
  if (!p) throw new HttpError('not_found', `no project ${slug}`);
  requireProjectAccess(who, p.id);
  requireScope(who, need);
  return p;
}

/** The period selector's choices, in hours. */
export const PERIODS: Record<string, number> = { '24h': 24, '7d': 24 * 7, '14d': 24 * 14, '30d': 24 * 30, '90d': 24 * 90 };

export function periodOf(url: URL, fallback = '24h'): { key: string; hours: number } {
  const key = url.searchParams.get('period') ?? fallback;
  return key in PERIODS ? { key, hours: PERIODS[key]! } : { key: fallback, hours: PERIODS[fallback]! };
}

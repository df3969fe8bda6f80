import type { IncomingMessage } from 'node:http';
import { requireScope } from '../auth/access.js';
import { roleHas, type Scope } from '../auth/scopes.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import type { ProjectRow } from '../storage/projects.js';
import { pageSession, postSession, uiPrincipal } from './auth.js';
import { projectFor } from './project-context.js';
import type { Session } from './sessions.js';
import type { ServerResponse } from 'node:http';

// The checks every project administration page makes (src/ui/project-settings-page.ts, keys-page.ts):
// the session's user must hold the scope (admins and owners: project:write, project:admin), and see
// the project. A member or viewer gets the 403 error page, before anything is read or changed.

/** Whether the session's role may administer projects: the pages' links are shown only then. */
export function canAdminister(session: Session | null | undefined): boolean {
  return !!session && roleHas(session.user.role, 'project:write');
}

export interface AdminPage {
  session: Session;
  who: Principal;
}

/** A GET page: the session (or the login redirect: null) and its principal holding `scope`. */
export async function adminPage(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, scope: Scope = 'project:write'): Promise<AdminPage | null> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return null;
  const who = await uiPrincipal(ctx, session);
  requireScope(who, scope);
  return { session, who };
}

/** A POST: session, CSRF token and scope checked (403 otherwise), then the form. */
export async function adminPost(ctx: AppContext, req: IncomingMessage, scope: Scope = 'project:write'): Promise<AdminPage & { form: URLSearchParams }> {
  const { session, form } = await postSession(ctx, req);
  const who = await uiPrincipal(ctx, session);
  requireScope(who, scope);
  return { session, who, form };
}

/** The project of the path, when the principal may see it. */
export async function adminProject(ctx: AppContext, who: Principal, slug: string): Promise<ProjectRow> {
  return projectFor(ctx, slug, who, 'project:read');
}

import type { Router } from '../http/router.js';
import type { AppContext } from '../server/context.js';
import { currentSession } from './auth.js';
import { redirect } from './http.js';
import { getIssuePage, postIssueStatus } from './issue-page.js';
import { getIssues } from './issues-page.js';
import { getLogin, postLogin, postLogout } from './login.js';
import { getOutcomes } from './outcomes-page.js';
import { getGrouping, postGrouping } from './grouping-page.js';
import { getStorage, postStorage } from './storage-page.js';
import { getProjects } from './projects-page.js';
import { getReleases } from './releases-page.js';
import { serveStatic } from './static.js';

// The web UI's routes: server-rendered pages on the same process and the same query functions as
// the API. GET pages redirect to /login without a session; every POST checks the session's CSRF token.
export function registerUiRoutes(router: Router, ctx: AppContext): void {
  router.add('GET', '/', async (req, res) => redirect(res, (await currentSession(ctx, req)) ? '/projects' : '/login'));
  router.add('GET', '/static/:name', (req, res, p) => serveStatic(req, res, p.name!));
  router.add('GET', '/login/?', (req, res, _p, url) => getLogin(ctx, req, res, url));
  router.add('POST', '/login/?', (req, res) => postLogin(ctx, req, res));
  router.add('POST', '/logout/?', (req, res) => postLogout(ctx, req, res));
  router.add('GET', '/projects/?', (req, res, _p, url) => getProjects(ctx, req, res, url));
  router.add('GET', '/projects/:slug/?', (_req, res, p) => redirect(res, `/projects/${encodeURIComponent(p.slug!)}/issues`));
  router.add('GET', '/projects/:slug/issues/?', (req, res, p, url) => getIssues(ctx, req, res, url, p.slug!));
  router.add('GET', '/issues/:id/?', (req, res, p, url) => getIssuePage(ctx, req, res, url, p.id!));
  router.add('GET', '/issues/:id/events/:eventId/?', (req, res, p, url) => getIssuePage(ctx, req, res, url, p.id!, p.eventId!));
  router.add('POST', '/issues/:id/status/?', (req, res, p) => postIssueStatus(ctx, req, res, p.id!));
  router.add('GET', '/projects/:slug/releases/?', (req, res, p, url) => getReleases(ctx, req, res, url, p.slug!));
  router.add('GET', '/projects/:slug/grouping/?', (req, res, p, url) => getGrouping(ctx, req, res, url, p.slug!));
  router.add('POST', '/projects/:slug/grouping/?', (req, res, p) => postGrouping(ctx, req, res, p.slug!));
  router.add('GET', '/projects/:slug/storage/?', (req, res, p, url) => getStorage(ctx, req, res, url, p.slug!));
  router.add('POST', '/projects/:slug/storage/?', (req, res, p) => postStorage(ctx, req, res, p.slug!));
  router.add('GET', '/projects/:slug/outcomes/?', (req, res, p, url) => getOutcomes(ctx, req, res, url, p.slug!));
}

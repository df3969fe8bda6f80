import type { Handler, Router } from '../http/router.js';
import type { AppContext } from '../context.js';
import { currentSession } from './auth.js';
import { redirect } from './http.js';
import { getIssuePage, postIssueStatus } from './issue-page.js';
import { postAssign, postBookmark, postSubscription, postComment, postCommentDelete, postCommentEdit } from './issue-collab.js';
import { getIssues } from './issues-page.js';
import { getLogin, postLogin, postLogout } from './login.js';
import { getOutcomes } from './outcomes-page.js';
import { getGrouping, postGrouping } from './grouping-page.js';
import { getScrubbing, postScrubbing } from './scrubbing-page.js';
import { getMonitors } from './monitors-page.js';
import { getAlerts, postAlert, postAlertDelete, postAlertEmail, postAlertTest } from './alerts-page.js';
import { getStorage, postStorage } from './storage-page.js';
import { getProjects } from './projects-page.js';
import { getReleases } from './releases-page.js';
import { serveStatic } from './static.js';
import { getOidcCallback, getOidcStart } from './oidc-login.js';
import { oidcClient } from '../oidc/client.js';
import { postMerge, postUnmerge } from './merge-view.js';
import { getMembers, postInvite as postMemberInvite, postInviteWithdraw, postMemberProjects, postMemberRemove, postMemberTwoFactorOff, postMemberRole } from './members-page.js';
import { getInvite, postInvite as postInviteAccept } from './invite-page.js';
import { getTokens, postToken, postTokenRevoke } from './tokens-page.js';
import { getProfile, postProfileNotifications, postProfilePassword, postProfileTwoFactorOff } from './profile-page.js';
import { getNewProject, getProjectSettings, postDeleteProject, postNewProject, postProjectSettings } from './project-settings-page.js';
import { getKeys, postCreateKey, postKeyAction } from './keys-page.js';
import { getForgot, getReset, postForgot, postReset } from './password-reset-page.js';
import { getLoginCode, postLoginCode } from './login-code.js';
import { postTwoFactorEnable, postTwoFactorSetup } from './two-factor-page.js';

// The web UI's routes: server-rendered pages on the same process and the same query functions as
// the API. GET pages redirect to /login without a session; every POST checks the session's CSRF token.
export function registerUiRoutes(router: Router, ctx: AppContext): void {
  // errors on these paths are answered as HTML pages (src/ui/error-page.ts)
  const page = (method: string, pattern: string, h: Handler) => router.add(method, pattern, h, 'page');
  page('GET', '/', async (req, res) => redirect(res, (await currentSession(ctx, req)) ? '/projects' : '/login'));
  page('GET', '/static/:name', (req, res, p) => serveStatic(req, res, p.name!));
  page('GET', '/login/?', (req, res, _p, url) => getLogin(ctx, req, res, url));
  page('POST', '/login/?', (req, res) => postLogin(ctx, req, res));
  page('POST', '/logout/?', (req, res) => postLogout(ctx, req, res));
  page('GET', '/login/code/?', (req, res) => getLoginCode(ctx, req, res));
  page('POST', '/login/code/?', (req, res) => postLoginCode(ctx, req, res));
  page('GET', '/password/forgot/?', (req, res) => getForgot(ctx, req, res));
  page('POST', '/password/forgot/?', (req, res) => postForgot(ctx, req, res));
  page('GET', '/password/reset/:token/?', (req, res, p) => getReset(ctx, req, res, p.token!));
  page('POST', '/password/reset/:token/?', (req, res, p) => postReset(ctx, req, res, p.token!));
  // OIDC login (issue #20): discovery starts now, in the background (src/oidc/client.ts)
  oidcClient(ctx)?.start();
  page('GET', '/login/oidc/?', (req, res, _p, url) => getOidcStart(ctx, req, res, url));
  page('GET', '/login/oidc/callback/?', (req, res, _p, url) => getOidcCallback(ctx, req, res, url));
  page('GET', '/projects/?', (req, res, _p, url) => getProjects(ctx, req, res, url));
  // administering projects and their DSN keys (issue #20, admin-projects); before /projects/:slug/
  page('GET', '/projects/new/?', (req, res, _p, url) => getNewProject(ctx, req, res, url));
  page('POST', '/projects/new/?', (req, res) => postNewProject(ctx, req, res));
  page('GET', '/projects/:slug/settings/?', (req, res, p, url) => getProjectSettings(ctx, req, res, url, p.slug!));
  page('POST', '/projects/:slug/settings/?', (req, res, p) => postProjectSettings(ctx, req, res, p.slug!));
  page('POST', '/projects/:slug/delete/?', (req, res, p) => postDeleteProject(ctx, req, res, p.slug!));
  page('GET', '/projects/:slug/keys/?', (req, res, p, url) => getKeys(ctx, req, res, url, p.slug!));
  page('POST', '/projects/:slug/keys/?', (req, res, p) => postCreateKey(ctx, req, res, p.slug!));
  page('POST', '/projects/:slug/keys/:key/:action/?', (req, res, p) => postKeyAction(ctx, req, res, p.slug!, p.key!, p.action!));
  page('GET', '/projects/:slug/?', (_req, res, p) => redirect(res, `/projects/${encodeURIComponent(p.slug!)}/issues`));
  page('GET', '/projects/:slug/issues/?', (req, res, p, url) => getIssues(ctx, req, res, url, p.slug!));
  page('GET', '/issues/:id/?', (req, res, p, url) => getIssuePage(ctx, req, res, url, p.id!));
  page('GET', '/issues/:id/events/:eventId/?', (req, res, p, url) => getIssuePage(ctx, req, res, url, p.id!, p.eventId!));
  page('POST', '/issues/:id/status/?', (req, res, p) => postIssueStatus(ctx, req, res, p.id!));
  // issue collaboration: assignee, bookmark, comments (src/ui/issue-collab.ts)
  page('POST', '/issues/:id/assign/?', (req, res, p) => postAssign(ctx, req, res, p.id!));
  page('POST', '/issues/:id/bookmark/?', (req, res, p) => postBookmark(ctx, req, res, p.id!));
  page('POST', '/issues/:id/subscription/?', (req, res, p) => postSubscription(ctx, req, res, p.id!));
  page('POST', '/issues/:id/comments/?', (req, res, p) => postComment(ctx, req, res, p.id!));
  page('POST', '/issues/:id/comments/:commentId/edit/?', (req, res, p) => postCommentEdit(ctx, req, res, p.id!, p.commentId!));
  page('POST', '/issues/:id/comments/:commentId/delete/?', (req, res, p) => postCommentDelete(ctx, req, res, p.id!, p.commentId!));
  page('GET', '/projects/:slug/releases/?', (req, res, p, url) => getReleases(ctx, req, res, url, p.slug!));
  page('GET', '/projects/:slug/grouping/?', (req, res, p, url) => getGrouping(ctx, req, res, url, p.slug!));
  page('POST', '/projects/:slug/grouping/?', (req, res, p) => postGrouping(ctx, req, res, p.slug!));
  page('GET', '/projects/:slug/scrubbing/?', (req, res, p, url) => getScrubbing(ctx, req, res, url, p.slug!));
  page('POST', '/projects/:slug/scrubbing/?', (req, res, p) => postScrubbing(ctx, req, res, p.slug!));
  page('GET', '/projects/:slug/monitors/?', (req, res, p, url) => getMonitors(ctx, req, res, url, p.slug!));
  page('GET', '/projects/:slug/alerts/?', (req, res, p, url) => getAlerts(ctx, req, res, url, p.slug!));
  page('POST', '/projects/:slug/alerts/?', (req, res, p) => postAlert(ctx, req, res, p.slug!));
  page('POST', '/projects/:slug/alerts/email/?', (req, res, p) => postAlertEmail(ctx, req, res, p.slug!));
  page('POST', '/projects/:slug/alerts/:id/test/?', (req, res, p) => postAlertTest(ctx, req, res, p.slug!, p.id!));
  page('POST', '/projects/:slug/alerts/:id/delete/?', (req, res, p) => postAlertDelete(ctx, req, res, p.slug!, p.id!));
  page('GET', '/projects/:slug/storage/?', (req, res, p, url) => getStorage(ctx, req, res, url, p.slug!));
  page('POST', '/projects/:slug/storage/?', (req, res, p) => postStorage(ctx, req, res, p.slug!));
  page('GET', '/projects/:slug/outcomes/?', (req, res, p, url) => getOutcomes(ctx, req, res, url, p.slug!));
  // merge and unmerge (issue #20): the issue list's checkboxes, the issue page's fingerprints
  page('POST', '/projects/:slug/issues/merge/?', (req, res, p) => postMerge(ctx, req, res, p.slug!));
  page('POST', '/issues/:id/unmerge/?', (req, res, p) => postUnmerge(ctx, req, res, p.id!));

  // members, invites, tokens, profile (issue #20, admin-members)
  page('GET', '/members/?', (req, res, _p, url) => getMembers(ctx, req, res, url));
  page('POST', '/members/invite/?', (req, res) => postMemberInvite(ctx, req, res));
  page('POST', '/members/:id/role/?', (req, res, p) => postMemberRole(ctx, req, res, p.id!));
  page('POST', '/members/:id/projects/?', (req, res, p) => postMemberProjects(ctx, req, res, p.id!));
  page('POST', '/members/:id/remove/?', (req, res, p) => postMemberRemove(ctx, req, res, p.id!));
  page('POST', '/members/:id/two-factor-off/?', (req, res, p) => postMemberTwoFactorOff(ctx, req, res, p.id!));
  page('POST', '/members/:id/withdraw/?', (req, res, p) => postInviteWithdraw(ctx, req, res, p.id!));
  page('GET', '/invite/:token/?', (req, res, p) => getInvite(ctx, req, res, p.token!));
  page('POST', '/invite/:token/?', (req, res, p) => postInviteAccept(ctx, req, res, p.token!));
  page('GET', '/tokens/?', (req, res, _p, url) => getTokens(ctx, req, res, url));
  page('POST', '/tokens/?', (req, res) => postToken(ctx, req, res));
  page('POST', '/tokens/:id/revoke/?', (req, res, p) => postTokenRevoke(ctx, req, res, p.id!));
  page('GET', '/profile/?', (req, res, _p, url) => getProfile(ctx, req, res, url));
  page('POST', '/profile/password/?', (req, res) => postProfilePassword(ctx, req, res));
  page('POST', '/profile/notifications/?', (req, res) => postProfileNotifications(ctx, req, res));
  page('POST', '/profile/two-factor/setup/?', (req, res) => postTwoFactorSetup(ctx, req, res));
  page('POST', '/profile/two-factor/enable/?', (req, res) => postTwoFactorEnable(ctx, req, res));
  page('POST', '/profile/two-factor/off/?', (req, res) => postProfileTwoFactorOff(ctx, req, res));
}

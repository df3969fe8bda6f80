import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params, Router } from '../http/router.js';
import type { AppContext } from '../context.js';
import { authenticate } from './auth.js';
import type { Principal } from '../auth/principal.js';
import { requireScope } from '../auth/access.js';
import type { Scope } from '../auth/scopes.js';
import * as org from './routes-org.js';
import * as admin from './routes-projects.js';
import * as issues from './routes-issues.js';
import * as comments from './routes-comments.js';
import * as rel from './routes-releases.js';
import * as events from './routes-events.js';
import * as attachments from './routes-attachments.js';
import * as feedback from './routes-feedback.js';
import * as monitors from './routes-monitors.js';
import * as outcomes from './outcomes.js';
import * as tokens from './routes-tokens.js';
import * as hooks from '../alerts/routes.js';
import * as merge from './routes-merge.js';
import * as sourcemaps from '../sourcemaps/routes.js';
import * as releaseFiles from '../sourcemaps/release-files.js';
import * as members from './routes-members.js';

// The API under /api/0/, in Sentry's Web API shapes. Every route authenticates with a Bearer token
// and declares the one scope it needs (src/auth/scopes.ts), checked before the handler runs; handlers
// check project membership where a project is named. Handlers only parse parameters and call query
// functions (queries/*) and serializers (serialize-*), which the web UI reuses.

export type ApiHandler = (ctx: AppContext, req: IncomingMessage, res: ServerResponse, params: Params, url: URL, principal: Principal) => Promise<void>;

/** One registered route and its scope (null: any valid token), listed for the scopes × routes test. */
export interface ApiRoute {
  method: string;
  path: string;
  scope: Scope | null;
}

export function registerApiRoutes(router: Router, ctx: AppContext): ApiRoute[] {
  const routes: ApiRoute[] = [];
  const add = (method: string, path: string, scope: Scope | null, h: ApiHandler) => {
    routes.push({ method, path: `/api/0${path}`, scope });
    router.add(method, `/api/0${path}`, async (req, res, params, url) => {
      const principal = await authenticate(req, ctx.db.pool);
      if (scope) requireScope(principal, scope);
      await h(ctx, req, res, params, url, principal);
    });
  };

  add('GET', '/?', null, org.authInfo);
  add('GET', '/organizations/?', 'org:read', org.organizations);
  add('GET', '/organizations/:org/?', 'org:read', org.organization);
  add('GET', '/organizations/:org/projects/?', 'project:read', org.projects);
  add('GET', '/projects/?', 'project:read', org.projects);
  add('GET', '/projects/:org/:project/?', 'project:read', org.project);
  add('PUT', '/projects/:org/:project/?', 'project:write', org.updateProject);
  // administering projects and DSN keys (issue #20, admin-projects)
  add('GET', '/organizations/:org/teams/?', 'org:read', admin.teams);
  add('POST', '/teams/:org/:team/projects/?', 'project:write', admin.createTeamProject);
  add('DELETE', '/projects/:org/:project/?', 'project:admin', admin.deleteProjectRoute);
  add('GET', '/projects/:org/:project/keys/?', 'project:read', admin.listKeysRoute);
  add('POST', '/projects/:org/:project/keys/?', 'project:write', admin.createKeyRoute);
  add('GET', '/projects/:org/:project/keys/:keyId/?', 'project:read', admin.getKeyRoute);
  add('PUT', '/projects/:org/:project/keys/:keyId/?', 'project:write', admin.updateKeyRoute);
  add('DELETE', '/projects/:org/:project/keys/:keyId/?', 'project:admin', admin.deleteKeyRoute);
  add('GET', '/projects/:org/:project/hooks/?', 'project:read', hooks.listHooks);
  add('POST', '/projects/:org/:project/hooks/?', 'project:write', hooks.createHook);
  add('GET', '/projects/:org/:project/hooks/:hookId/?', 'project:read', hooks.getHook);
  add('PUT', '/projects/:org/:project/hooks/:hookId/?', 'project:write', hooks.updateHook);
  add('DELETE', '/projects/:org/:project/hooks/:hookId/?', 'project:write', hooks.deleteHook);
  add('GET', '/projects/:org/:project/rules/?', 'project:read', hooks.listRules);
  add('POST', '/projects/:org/:project/rules/?', 'project:write', hooks.createRule);
  add('GET', '/projects/:org/:project/rules/:ruleId/?', 'project:read', hooks.getRule);
  add('PUT', '/projects/:org/:project/rules/:ruleId/?', 'project:write', hooks.updateRuleRoute);
  add('DELETE', '/projects/:org/:project/rules/:ruleId/?', 'project:write', hooks.deleteRule);
  add('POST', '/projects/:org/:project/rules/:ruleId/test/?', 'project:write', hooks.testRule);
  add('GET', '/projects/:org/:project/rules/:ruleId/deliveries/?', 'project:read', hooks.listRuleDeliveries);

  for (const base of ['/projects/:org/:project/issues/?', '/organizations/:org/issues/?']) {
    add('GET', base, 'event:read', issues.list);
    add('PUT', base, 'event:write', issues.bulkUpdate);
    add('DELETE', base, 'event:admin', issues.bulkDelete);
  }
  for (const base of ['/issues/:issueId', '/organizations/:org/issues/:issueId']) {
    add('GET', `${base}/?`, 'event:read', issues.detail);
    add('PUT', `${base}/?`, 'event:write', issues.update);
    add('DELETE', `${base}/?`, 'event:admin', issues.remove);
    add('GET', `${base}/tags/?`, 'event:read', issues.tags);
    add('GET', `${base}/tags/:key/?`, 'event:read', issues.tag);
    add('GET', `${base}/tags/:key/values/?`, 'event:read', issues.tagValues);
    add('GET', `${base}/grouping/info/?`, 'event:read', issues.groupingInfo);
    add('GET', `${base}/hashes/?`, 'event:read', issues.hashes);
    // unmerge: DELETE as the issue asks (Sentry's older verb), PUT as Sentry answers it today
    add('DELETE', `${base}/hashes/?`, 'event:write', merge.unmerge);
    add('PUT', `${base}/hashes/?`, 'event:write', merge.unmerge);
    add('GET', `${base}/events/?`, 'event:read', events.issueEvents);
    add('GET', `${base}/events/:eventId/?`, 'event:read', events.issueEvent);
    add('GET', `${base}/user-reports/?`, 'event:read', feedback.issueFeedback);
    // issue collaboration: comments (Sentry's notes)
    add('GET', `${base}/comments/?`, 'event:read', comments.list);
    add('POST', `${base}/comments/?`, 'event:write', comments.create);
    add('PUT', `${base}/comments/:commentId/?`, 'event:write', comments.update);
    add('DELETE', `${base}/comments/:commentId/?`, 'event:write', comments.remove);
  }
  add('GET', '/projects/:org/:project/events/?', 'event:read', events.projectEvents);
  add('GET', '/projects/:org/:project/events/:eventId/?', 'event:read', events.projectEvent);
  add('GET', '/projects/:org/:project/events/:eventId/grouping-info/?', 'event:read', events.eventGroupingInfo);
  add('GET', '/projects/:org/:project/events/:eventId/attachments/?', 'event:read', attachments.list);
  add('GET', '/projects/:org/:project/events/:eventId/attachments/:attachmentId/?', 'event:read', attachments.one);
  add('GET', '/projects/:org/:project/user-feedback/?', 'event:read', feedback.projectFeedback);
  add('GET', '/organizations/:org/monitors/?', 'project:read', monitors.list);
  for (const base of ['/organizations/:org/monitors/:monitor', '/projects/:org/:project/monitors/:monitor']) {
    add('GET', `${base}/?`, 'project:read', monitors.detail);
    add('GET', `${base}/checkins/?`, 'project:read', monitors.checkIns);
  }
  add('GET', '/organizations/:org/events/:ref/?', 'event:read', events.orgEvent);
  add('GET', '/organizations/:org/eventids/:eventId/?', 'event:read', events.resolveEventId);

  add('GET', '/organizations/:org/releases/?', 'project:read', rel.releases);
  add('GET', '/organizations/:org/releases/:version/?', 'project:read', rel.releases);
  add('GET', '/projects/:org/:project/releases/?', 'project:read', rel.releases);

  // what was dropped (outcomes.ts)
  add('GET', '/projects/:org/:project/outcomes/?', 'project:read', outcomes.projectOutcomes);
  add('GET', '/organizations/:org/stats_v2/?', 'org:read', outcomes.statsV2);

  // source-map uploads (sentry-cli sourcemaps upload)
  add('GET', '/organizations/:org/chunk-upload/?', 'project:releases', sourcemaps.chunkUploadOptions);
  add('POST', '/organizations/:org/chunk-upload/?', 'project:releases', sourcemaps.chunkUpload);
  add('POST', '/organizations/:org/artifactbundle/assemble/?', 'project:releases', sourcemaps.assemble);
  add('GET', '/projects/:org/:project/releases/:version/files/?', 'project:read', releaseFiles.listFiles);
  add('POST', '/projects/:org/:project/releases/:version/files/?', 'project:releases', releaseFiles.uploadFile);
  add('GET', '/organizations/:org/releases/:version/files/?', 'project:read', releaseFiles.listOrgFiles);
  add('POST', '/organizations/:org/releases/:version/files/?', 'project:releases', releaseFiles.uploadOrgFile);

  // members and invites (issue #20, admin-members)
  add('GET', '/organizations/:org/members/?', 'member:read', members.list);
  add('POST', '/organizations/:org/members/?', 'member:write', members.invite);
  add('GET', '/organizations/:org/members/:memberId/?', 'member:read', members.detail);
  add('PUT', '/organizations/:org/members/:memberId/?', 'member:write', members.update);
  add('DELETE', '/organizations/:org/members/:memberId/?', 'member:admin', members.remove);
  add('GET', '/users/me/?', null, members.me);
  // the user's own tokens (Sentry's api-tokens; a token mints only within its own scopes)
  add('GET', '/api-tokens/?', null, tokens.list);
  add('POST', '/api-tokens/?', null, tokens.create);
  add('DELETE', '/api-tokens/?', null, tokens.remove);
  return routes;
}

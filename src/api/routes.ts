import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params, Router } from '../http/router.js';
import type { AppContext } from '../context.js';
import { authenticate } from './auth.js';
import type { TokenRow } from './tokens.js';
import * as org from './routes-org.js';
import * as issues from './routes-issues.js';
import * as rel from './routes-releases.js';
import * as events from './routes-events.js';
import * as attachments from './routes-attachments.js';
import * as feedback from './routes-feedback.js';
import * as monitors from './routes-monitors.js';
import * as hooks from '../alerts/routes.js';
import * as sourcemaps from '../sourcemaps/routes.js';
import * as releaseFiles from '../sourcemaps/release-files.js';

// The read API under /api/0/, in Sentry's Web API shapes. Every route authenticates with a Bearer
// token first. Handlers only parse parameters and call query functions (queries/*) and serializers
// (serialize-*), which the web UI reuses.

type ApiHandler = (ctx: AppContext, req: IncomingMessage, res: ServerResponse, params: Params, url: URL, token: TokenRow) => Promise<void>;

export function registerApiRoutes(router: Router, ctx: AppContext): void {
  const add = (method: string, path: string, h: ApiHandler) =>
    router.add(method, `/api/0${path}`, async (req, res, params, url) => {
      const token = await authenticate(req, ctx.db.pool);
      await h(ctx, req, res, params, url, token);
    });

  add('GET', '/?', org.authInfo);
  add('GET', '/organizations/?', org.organizations);
  add('GET', '/organizations/:org/?', org.organization);
  add('GET', '/organizations/:org/projects/?', org.projects);
  add('GET', '/projects/?', org.projects);
  add('GET', '/projects/:org/:project/?', org.project);
  add('PUT', '/projects/:org/:project/?', org.updateProject);
  add('GET', '/projects/:org/:project/keys/?', org.projectKeys);
  add('GET', '/projects/:org/:project/hooks/?', hooks.listHooks);
  add('POST', '/projects/:org/:project/hooks/?', hooks.createHook);
  add('GET', '/projects/:org/:project/hooks/:hookId/?', hooks.getHook);
  add('PUT', '/projects/:org/:project/hooks/:hookId/?', hooks.updateHook);
  add('DELETE', '/projects/:org/:project/hooks/:hookId/?', hooks.deleteHook);
  add('GET', '/projects/:org/:project/rules/?', hooks.listRules);
  add('POST', '/projects/:org/:project/rules/?', hooks.createRule);
  add('GET', '/projects/:org/:project/rules/:ruleId/?', hooks.getRule);
  add('PUT', '/projects/:org/:project/rules/:ruleId/?', hooks.updateRuleRoute);
  add('DELETE', '/projects/:org/:project/rules/:ruleId/?', hooks.deleteRule);
  add('POST', '/projects/:org/:project/rules/:ruleId/test/?', hooks.testRule);
  add('GET', '/projects/:org/:project/rules/:ruleId/deliveries/?', hooks.listRuleDeliveries);

  for (const base of ['/projects/:org/:project/issues/?', '/organizations/:org/issues/?']) {
    add('GET', base, issues.list);
    add('PUT', base, issues.bulkUpdate);
    add('DELETE', base, issues.bulkDelete);
  }
  for (const base of ['/issues/:issueId', '/organizations/:org/issues/:issueId']) {
    add('GET', `${base}/?`, issues.detail);
    add('PUT', `${base}/?`, issues.update);
    add('DELETE', `${base}/?`, issues.remove);
    add('GET', `${base}/tags/?`, issues.tags);
    add('GET', `${base}/tags/:key/?`, issues.tag);
    add('GET', `${base}/tags/:key/values/?`, issues.tagValues);
    add('GET', `${base}/grouping/info/?`, issues.groupingInfo);
    add('GET', `${base}/hashes/?`, issues.hashes);
    add('GET', `${base}/events/?`, events.issueEvents);
    add('GET', `${base}/events/:eventId/?`, events.issueEvent);
    add('GET', `${base}/user-reports/?`, feedback.issueFeedback);
  }
  add('GET', '/projects/:org/:project/events/?', events.projectEvents);
  add('GET', '/projects/:org/:project/events/:eventId/?', events.projectEvent);
  add('GET', '/projects/:org/:project/events/:eventId/grouping-info/?', events.eventGroupingInfo);
  add('GET', '/projects/:org/:project/events/:eventId/attachments/?', attachments.list);
  add('GET', '/projects/:org/:project/events/:eventId/attachments/:attachmentId/?', attachments.one);
  add('GET', '/projects/:org/:project/user-feedback/?', feedback.projectFeedback);
  add('GET', '/organizations/:org/monitors/?', monitors.list);
  for (const base of ['/organizations/:org/monitors/:monitor', '/projects/:org/:project/monitors/:monitor']) {
    add('GET', `${base}/?`, monitors.detail);
    add('GET', `${base}/checkins/?`, monitors.checkIns);
  }
  add('GET', '/organizations/:org/events/:ref/?', events.orgEvent);
  add('GET', '/organizations/:org/eventids/:eventId/?', events.resolveEventId);

  add('GET', '/organizations/:org/releases/?', rel.releases);
  add('GET', '/organizations/:org/releases/:version/?', rel.releases);
  add('GET', '/projects/:org/:project/releases/?', rel.releases);

  // source-map uploads (sentry-cli sourcemaps upload)
  add('GET', '/organizations/:org/chunk-upload/?', sourcemaps.chunkUploadOptions);
  add('POST', '/organizations/:org/chunk-upload/?', sourcemaps.chunkUpload);
  add('POST', '/organizations/:org/artifactbundle/assemble/?', sourcemaps.assemble);
  add('GET', '/projects/:org/:project/releases/:version/files/?', releaseFiles.listFiles);
  add('POST', '/projects/:org/:project/releases/:version/files/?', releaseFiles.uploadFile);
}

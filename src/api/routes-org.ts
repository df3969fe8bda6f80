import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/respond.js';
import type { AppContext } from '../context.js';
import type { ApiHandler as H } from './routes.js';
import { getProject, projectFieldsProblem, setProjectGrouping, setProjectScrubbing, updateProject as saveProject } from '../storage/projects.js';
import { HttpError } from '../http/errors.js';
import { groupingOptionsError } from '../grouping/validate.js';
import { scrubChange } from '../scrub/validate.js';
import { readJsonBody } from './body.js';
import { serializeOrganization, serializeProject, serializeProjectDetail } from './serialize-org.js';
import { requireOrg, requireProject, visibleProjectRows } from './lookup.js';
import { linkHeader, offsetPage, parseCursor, parseLimit } from './pagination.js';
import { retentionProblem, setProjectRetention, type ProjectRetention } from '../archive/retention/project-settings.js';
import { projectFacts } from './queries/projects.js';

// GET /api/0/, organizations, projects and their keys (DSNs); PUT of a project's settings.

export const authInfo: H = async (_ctx, _req, res, _p, _url, who) => {
  // sentry-cli `info` reads auth.scopes and an optional user; a token made on the host belongs to no user.
  const user = who.userId === null ? null : { id: String(who.userId), email: who.email, username: who.email, name: who.email };
  sendJson(res, 200, { version: '0', auth: { scopes: [...who.scopes].sort() }, user });
};

export const organizations: H = async (ctx, _req, res, _p, url) => {
  sendPage(ctx, res, url, [serializeOrganization(ctx.config)]);
};

export const organization: H = async (ctx, _req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  const projects = await visibleProjectRows(ctx.db.pool, who);
  const facts = await projectFacts(ctx.db.pool);
  sendJson(res, 200, {
    ...serializeOrganization(ctx.config),
    projects: projects.map((p) => serializeProject(ctx.config, p, facts.get(p.id))),
    teams: [{ id: '1', slug: ctx.config.organizationSlug, name: ctx.config.organizationSlug, isMember: true, projects: [] }],
    access: [...who.scopes].sort(),
  });
};

export const projects: H = async (ctx, _req, res, params, url, who) => {
  if (params.org !== undefined) requireOrg(ctx.config, params.org);
  const rows = await visibleProjectRows(ctx.db.pool, who);
  const facts = await projectFacts(ctx.db.pool);
  sendPage(ctx, res, url, rows.map((p) => serializeProject(ctx.config, p, facts.get(p.id))));
};

export const project: H = async (ctx, _req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const facts = await projectFacts(ctx.db.pool, p.id);
  sendJson(res, 200, serializeProjectDetail(ctx.config, p, facts.get(p.id)));
};

/**
 * PUT projects/{org}/{project}/: changes the project's grouping rules (`groupingEnhancements`,
 * `fingerprintingRules`, as in Sentry's project settings), its data scrubbing (`dataScrubber`,
 * `dataScrubberDefaults`, `sensitiveFields`, `safeFields`, `scrubIPAddresses`) and/or its `name` and `platform`. Rules are
 * checked first: a line the engine cannot read is a 400 naming it. Events digested from a few seconds
 * on are grouped with the new rules; existing issues stay as they are. `retentionDays` and
 * `maxEventsPerIssue` (ours: a number, or null for the default) set the project's retention.
 */
export const updateProject: H = async (ctx, req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const body = await readJsonBody(req);
  const text = (k: string, max = Infinity): string | undefined => {
    const v = body[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new HttpError('invalid_request', `${k} must be a string`);
    if (v.length > max) throw new HttpError('invalid_request', `${k} is longer than ${max} characters`);
    return v;
  };
  // Rule texts: length and every line checked by groupingOptionsError below.
  const enhancements = text('groupingEnhancements');
  const fingerprinting = text('fingerprintingRules');
  const name = text('name');
  const platform = text('platform');
  const fieldsProblem = projectFieldsProblem({ name, platform });
  if (fieldsProblem) throw new HttpError('invalid_request', fieldsProblem);
  const problem = groupingOptionsError({ enhancements, fingerprintingRules: fingerprinting });
  if (problem) throw new HttpError('invalid_request', problem);
  const scrub = scrubChange(body, { maxFields: ctx.config.scrubMaxFields, maxFieldChars: ctx.config.scrubMaxFieldChars });
  if (typeof scrub === 'string') throw new HttpError('invalid_request', scrub);
  const retention: Partial<ProjectRetention> = {};
  for (const k of ['retentionDays', 'maxEventsPerIssue'] as const) {
    if (body[k] === undefined) continue;
    const p = retentionProblem(k, body[k]);
    if (p) throw new HttpError('invalid_request', p);
    retention[k] = body[k] as number | null;
  }
  // Everything is checked before anything is written: a 400 changes nothing.
  await setProjectGrouping(ctx.db.pool, p.id, { enhancements, fingerprintingRules: fingerprinting });
  if (Object.keys(scrub).length) await setProjectScrubbing(ctx.db.pool, p.id, scrub);
  if (Object.keys(retention).length) await setProjectRetention(ctx.db.pool, p.id, retention);
  if (name !== undefined || platform !== undefined) await saveProject(ctx.db.pool, p.id, { name, platform });
  const updated = (await getProject(ctx.db.pool, p.id))!;
  const facts = await projectFacts(ctx.db.pool, p.id);
  sendJson(res, 200, serializeProjectDetail(ctx.config, updated, facts.get(p.id)));
};

/** Small lists are paged by offset in memory, with the same Link header as the big ones. */
function sendPage(ctx: AppContext, res: ServerResponse, url: URL, all: unknown[]): void {
  const { rows, links } = offsetPage(all, parseCursor(url.searchParams.get('cursor')), parseLimit(url.searchParams.get('per_page') ?? url.searchParams.get('limit')));
  sendJson(res, 200, rows, { link: linkHeader(publicRequestUrl(ctx, url), links) });
}

/** The request URL as the client sees it (PUBLIC_URL + path + query), for Link headers. */
export function publicRequestUrl(ctx: AppContext, url: URL): URL {
  const base = new URL(ctx.config.publicUrl);
  const u = new URL(url.pathname + url.search, base.origin);
  if (base.pathname !== '/') u.pathname = base.pathname.replace(/\/$/, '') + url.pathname;
  return u;
}

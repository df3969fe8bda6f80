import type { IncomingMessage } from 'node:http';
import { visibleProjects } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import { createKey, deleteKey, getKey, labelProblem, listKeys, parseKeyRateLimit, updateKey, type KeyRateLimit } from '../storage/project-keys.js';
import { createProject, deleteProject, listProjects, projectFieldsProblem, slugProblem, SlugTakenError, type ProjectRow } from '../storage/projects.js';
import { readJsonBody } from './body.js';
import { requireOrg, requireProject } from './lookup.js';
import type { ApiHandler as H } from './routes.js';
import { projectFacts } from './queries/projects.js';
import { serializeKey, serializeProject, serializeTeam } from './serialize-org.js';

// Administering projects and their DSN keys in Sentry's shapes: the one implicit team (named as the
// organization), creating a project in it, deleting a project, and a project's keys. The storage
// functions are the CLI's and the UI's (src/storage/projects.ts, project-keys.ts).

/** {team}: the one implicit team, by its slug (the organization's) or its id 1. */
function requireTeam(ctx: AppContext, org: string, team: string): void {
  requireOrg(ctx.config, org);
  if (team !== ctx.config.organizationSlug && team !== '1') throw new HttpError('not_found', 'Team not found.');
}

/** The project in the path, when the principal may see it (403 otherwise). */
async function projectOf(ctx: AppContext, params: Record<string, string | undefined>, who: Principal): Promise<ProjectRow> {
  return requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
}

/** GET organizations/{org}/teams/: the one team, with the projects the principal sees. */
export const teams: H = async (ctx, _req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  const visible = visibleProjects(who);
  const projects = (await listProjects(ctx.db.pool)).filter((p) => visible === null || visible.includes(p.id));
  const facts = await projectFacts(ctx.db.pool);
  const { rows } = await ctx.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ui_user');
  sendJson(res, 200, [serializeTeam(ctx.config, { scopes: [...who.scopes], memberCount: rows[0]!.n, projects: projects.map((p) => serializeProject(ctx.config, p, facts.get(p.id))) })]);
};

function optionalString(body: Record<string, unknown>, k: string): string | undefined {
  const v = body[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError('invalid_request', `${k} must be a string`);
  return v;
}

/** POST teams/{org}/{team}/projects/ {name, slug?, platform?}: 201 with the project (and its first key). */
export const createTeamProject: H = async (ctx, req, res, params) => {
  requireTeam(ctx, params.org!, params.team!);
  const body = await readJsonBody(req);
  const name = optionalString(body, 'name');
  if (name === undefined) throw new HttpError('invalid_request', 'name is required');
  const slug = optionalString(body, 'slug') || undefined;
  const platform = optionalString(body, 'platform');
  const problem = projectFieldsProblem({ name, platform }) ?? (slug !== undefined ? slugProblem(slug) : null);
  if (problem) throw new HttpError('invalid_request', problem);
  try {
    const { project } = await createProject(ctx.db.pool, { name, slug, platform });
    ctx.log.info('project created', { project_id: project.id, slug: project.slug });
    sendJson(res, 201, serializeProject(ctx.config, project));
  } catch (e) {
    if (e instanceof SlugTakenError) throw new HttpError('conflict', 'A project with this slug already exists.');
    throw e;
  }
};

/**
 * DELETE projects/{org}/{project}/: 204 once the project and everything it stored are deleted (in
 * bounded batches: src/storage/project-delete.ts). Sentry answers 204 and deletes later; here the
 * answer waits, unless a batch keeps failing, when the retention passes finish it (still 204: the
 * project is gone from every view and refused by ingest).
 */
export const deleteProjectRoute: H = async (ctx, _req, res, params, _url, who) => {
  const p = await projectOf(ctx, params, who);
  await deleteProject(ctx.db.pool, p.id, { batchSize: ctx.config.retentionBatchSize, log: ctx.log, by: actor(who) });
  res.writeHead(204).end();
};

/** Who did it, for the log: a user's e-mail, or the token that belongs to no user. */
export function actor(who: Principal): string {
  return who.email ?? `token ${who.tokenId}`;
}

/** GET projects/{org}/{project}/keys/[?status=active|inactive] */
export const listKeysRoute: H = async (ctx, _req, res, params, url, who) => {
  const p = await projectOf(ctx, params, who);
  const status = url.searchParams.get('status');
  if (status !== null && status !== 'active' && status !== 'inactive') throw new HttpError('invalid_request', 'status must be active or inactive');
  const keys = (await listKeys(ctx.db.pool, p.id)).filter((k) => status === null || k.disabled === (status === 'inactive'));
  sendJson(res, 200, keys.map((k) => serializeKey(ctx.config, k)));
};

/** name (Sentry) or label; rateLimit; isActive (PUT): checked before anything is written. */
async function keyFields(req: IncomingMessage, opts: { requireName: boolean }): Promise<{ label?: string; rateLimit?: KeyRateLimit | null; active?: boolean }> {
  const body = await readJsonBody(req);
  const label = optionalString(body, 'name') ?? optionalString(body, 'label');
  if (label !== undefined) {
    const problem = labelProblem(label);
    if (problem) throw new HttpError('invalid_request', problem);
  }
  let rateLimit: KeyRateLimit | null | undefined;
  if (body.rateLimit !== undefined) {
    const r = parseKeyRateLimit(body.rateLimit);
    if (typeof r === 'string') throw new HttpError('invalid_request', r);
    rateLimit = r;
  }
  if (body.isActive !== undefined && typeof body.isActive !== 'boolean') throw new HttpError('invalid_request', 'isActive must be true or false');
  return { label: label ?? (opts.requireName ? 'Default' : undefined), rateLimit, active: body.isActive as boolean | undefined };
}

/** POST projects/{org}/{project}/keys/ {name?, rateLimit?}: 201 with the new key. */
export const createKeyRoute: H = async (ctx, req, res, params, _url, who) => {
  const p = await projectOf(ctx, params, who);
  const f = await keyFields(req, { requireName: true });
  const key = await createKey(ctx.db.pool, p.id, { label: f.label!, rateLimit: f.rateLimit ?? null });
  if (f.active === false) await updateKey(ctx.db.pool, p.id, key.public_key, { active: false });
  sendJson(res, 201, serializeKey(ctx.config, (await getKey(ctx.db.pool, p.id, key.public_key))!));
};

async function keyOf(ctx: AppContext, projectId: number, keyId: string) {
  const k = /^[0-9a-zA-Z_-]{1,64}$/.test(keyId) ? await getKey(ctx.db.pool, projectId, keyId) : null;
  if (!k) throw new HttpError('not_found', 'The requested resource does not exist');
  return k;
}

export const getKeyRoute: H = async (ctx, _req, res, params, _url, who) => {
  const p = await projectOf(ctx, params, who);
  sendJson(res, 200, serializeKey(ctx.config, await keyOf(ctx, p.id, params.keyId!)));
};

/** PUT projects/{org}/{project}/keys/{key_id}/ {name?, isActive?, rateLimit?} */
export const updateKeyRoute: H = async (ctx, req, res, params, _url, who) => {
  const p = await projectOf(ctx, params, who);
  await keyOf(ctx, p.id, params.keyId!);
  const f = await keyFields(req, { requireName: false });
  const k = await updateKey(ctx.db.pool, p.id, params.keyId!, f);
  if (!k) throw new HttpError('not_found', 'The requested resource does not exist');
  sendJson(res, 200, serializeKey(ctx.config, k));
};

/** DELETE projects/{org}/{project}/keys/{key_id}/: 204; SDKs using it are refused from then on (invalid_key). */
export const deleteKeyRoute: H = async (ctx, _req, res, params, _url, who) => {
  const p = await projectOf(ctx, params, who);
  await keyOf(ctx, p.id, params.keyId!);
  await deleteKey(ctx.db.pool, p.id, params.keyId!);
  res.writeHead(204).end();
};

import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/respond.js';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import type { Principal } from '../auth/principal.js';
import { canSeeProject } from '../auth/access.js';
import type { ApiHandler as H } from './routes.js';
import { readJsonBody } from './body.js';
import { requireOrg } from './lookup.js';
import { linkHeader, offsetPage, parseCursor, parseLimit } from './pagination.js';
import { publicRequestUrl } from './routes-org.js';
import { listProjects } from '../storage/projects.js';
import { changeRole, getMember, listMembers, parseRole, projectIdsOf, removeMember, setMemberProjects } from '../members/members.js';
import { createInvite, getOpenInvite, inviteLink, listOpenInvites, withdrawInvite } from '../members/invites.js';
import { mailInvite } from '../members/invite-mail.js';
import { checkProjects, checkRoleChange } from '../members/rules.js';
import { memberDetail, serializeInvite, serializeMember } from './serialize-member.js';

// Sentry's organization members API: GET/POST organizations/{org}/members/, GET/PUT/DELETE
// organizations/{org}/members/{member_id}/. Users and open invites are both members (an invite is
// `pending`). POST invites {email, orgRole, projects?} and answers with the invite link, once; PUT
// changes {orgRole} and (ours) {projects: [slug…] | null}. The role rules are src/members/rules.ts.

/** Project id → slug, for the projects the caller can see (a limited member is not told other projects' names). */
async function slugLookup(ctx: AppContext, who: Principal): Promise<(id: number) => string | undefined> {
  const bySlug = new Map((await listProjects(ctx.db.pool)).filter((p) => canSeeProject(who, p.id)).map((p) => [Number(p.id), p.slug]));
  return (id) => bySlug.get(Number(id));
}

async function ownerCount(ctx: AppContext): Promise<number> {
  return (await ctx.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ui_user WHERE role = 'owner'")).rows[0]!.n;
}

function memberId(v: string): number {
  if (!/^\d{1,15}$/.test(v)) throw new HttpError('not_found', 'The requested resource does not exist');
  return Number(v);
}

/** `projects` of a request body: absent (undefined), null (every project) or a list of slugs or ids. */
async function projectsOf(ctx: AppContext, v: unknown): Promise<number[] | null | undefined> {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!Array.isArray(v) || v.length > 1000 || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) throw new HttpError('invalid_request', 'projects must be a list of project slugs, or null for every project');
  return projectIdsOf(ctx.db.pool, v.map(String));
}

async function answerMember(ctx: AppContext, who: Principal, res: ServerResponse, status: number, id: number, inviteLinkText?: string): Promise<void> {
  const slugOf = await slugLookup(ctx, who);
  const m = await getMember(ctx.db.pool, id);
  if (m) return sendJson(res, status, memberDetail(serializeMember(m, slugOf), { isOnlyOwner: m.role === 'owner' && (await ownerCount(ctx)) === 1 }));
  const i = await getOpenInvite(ctx.db.pool, id);
  if (!i) throw new HttpError('not_found', 'The requested resource does not exist');
  sendJson(res, status, memberDetail(serializeInvite(i, slugOf), { isOnlyOwner: false, inviteLink: inviteLinkText }));
}

export const list: H = async (ctx, _req, res, params, url, who) => {
  requireOrg(ctx.config, params.org!);
  const slugOf = await slugLookup(ctx, who);
  const all = [...(await listMembers(ctx.db.pool)).map((m) => serializeMember(m, slugOf)), ...(await listOpenInvites(ctx.db.pool)).map((i) => serializeInvite(i, slugOf))];
  const { rows, links } = offsetPage(all, parseCursor(url.searchParams.get('cursor')), parseLimit(url.searchParams.get('per_page') ?? url.searchParams.get('limit')));
  sendJson(res, 200, rows, { link: linkHeader(publicRequestUrl(ctx, url), links) });
};

export const invite: H = async (ctx, req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  const body = await readJsonBody(req);
  if (typeof body.email !== 'string') throw new HttpError('invalid_request', 'email is required');
  const role = parseRole(body.orgRole ?? body.role ?? 'member', 'orgRole');
  const projectIds = (await projectsOf(ctx, body.projects)) ?? null;
  const { invite: row, token } = await createInvite(ctx.db.pool, ctx.config, who, { email: body.email, role, projectIds });
  if (body.sendInvite !== false) await mailInvite(ctx, row, token, who.email);
  await answerMember(ctx, who, res, 201, row.id, inviteLink(ctx.config, token));
};

export const detail: H = async (ctx, _req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  await answerMember(ctx, who, res, 200, memberId(params.memberId!));
};

export const update: H = async (ctx, req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  const id = memberId(params.memberId!);
  const body = await readJsonBody(req);
  const role = body.orgRole === undefined && body.role === undefined ? undefined : parseRole(body.orgRole ?? body.role, 'orgRole');
  const projects = await projectsOf(ctx, body.projects);
  const target = await getMember(ctx.db.pool, id);
  if (!target) {
    if (await getOpenInvite(ctx.db.pool, id)) throw new HttpError('invalid_request', 'a pending invite cannot be changed; withdraw it (DELETE) and invite again');
    throw new HttpError('not_found', 'The requested resource does not exist');
  }
  // both checks before either change, so that a refusal changes nothing
  if (role !== undefined) checkRoleChange(who, target, role);
  if (projects !== undefined) checkProjects(who, target);
  if (role !== undefined) await changeRole(ctx.db.pool, who, id, role);
  if (projects !== undefined) await setMemberProjects(ctx.db.pool, who, id, projects);
  await answerMember(ctx, who, res, 200, id);
};

export const remove: H = async (ctx, _req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  const id = memberId(params.memberId!);
  if (await getMember(ctx.db.pool, id)) await removeMember(ctx.db.pool, who, id);
  else await withdrawInvite(ctx.db.pool, who, id);
  res.writeHead(204).end();
};

/** GET users/me/: the token's user (Sentry's user serializer, shortened). A token made on the host has none. */
export const me: H = async (ctx, _req, res, _params, _url, who) => {
  const m = who.userId === null ? null : await getMember(ctx.db.pool, who.userId);
  if (!m) throw new HttpError('not_found', 'this token belongs to no user (it was made on the host with crash-cache-cli)');
  sendJson(res, 200, { ...serializeMember(m, () => undefined).user, orgRole: m.role });
};

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApiRoutes, type ApiRoute } from '../../src/api/routes.js';
import { createToken } from '../../src/api/tokens.js';
import type { AppContext } from '../../src/context.js';
import { Router } from '../../src/http/router.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { expandScopes, ROLE_SCOPES, SCOPES, type Role, type Scope } from '../../src/auth/scopes.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { getPage, hidden, logIn, postForm } from '../ui/web.js';

// Who may call what, over real HTTP on a real database:
// - scopes × routes: every /api/0/ route is listed here with the scope it needs; a route missing from
//   this table (or listed but gone) fails the test. For each route a token holding every scope except
//   those that grant the needed one gets 403 naming the scope, and a token with just that scope does not.
// - roles × actions: tokens made by an owner, admin, member and viewer (asking for every scope) are
//   capped by the role, and a refused action changes nothing.
// - project membership: a member limited to one project sees only it, and nothing of the other.

const EXPECTED: Record<string, Scope | null> = {
  'GET /api/0/?': null,
  'GET /api/0/organizations/?': 'org:read',
  'GET /api/0/organizations/:org/?': 'org:read',
  'GET /api/0/organizations/:org/projects/?': 'project:read',
  'GET /api/0/projects/?': 'project:read',
  'GET /api/0/projects/:org/:project/?': 'project:read',
  'PUT /api/0/projects/:org/:project/?': 'project:write',
  'GET /api/0/projects/:org/:project/keys/?': 'project:read',
  'POST /api/0/projects/:org/:project/keys/?': 'project:write',
  'GET /api/0/projects/:org/:project/keys/:keyId/?': 'project:read',
  'PUT /api/0/projects/:org/:project/keys/:keyId/?': 'project:write',
  'DELETE /api/0/projects/:org/:project/keys/:keyId/?': 'project:admin',
  'DELETE /api/0/projects/:org/:project/?': 'project:admin',
  'GET /api/0/organizations/:org/teams/?': 'org:read',
  'POST /api/0/teams/:org/:team/projects/?': 'project:write',
  'GET /api/0/projects/:org/:project/hooks/?': 'project:read',
  'POST /api/0/projects/:org/:project/hooks/?': 'project:write',
  'GET /api/0/projects/:org/:project/hooks/:hookId/?': 'project:read',
  'PUT /api/0/projects/:org/:project/hooks/:hookId/?': 'project:write',
  'DELETE /api/0/projects/:org/:project/hooks/:hookId/?': 'project:write',
  'GET /api/0/projects/:org/:project/rules/?': 'project:read',
  'POST /api/0/projects/:org/:project/rules/?': 'project:write',
  'GET /api/0/projects/:org/:project/rules/:ruleId/?': 'project:read',
  'PUT /api/0/projects/:org/:project/rules/:ruleId/?': 'project:write',
  'DELETE /api/0/projects/:org/:project/rules/:ruleId/?': 'project:write',
  'POST /api/0/projects/:org/:project/rules/:ruleId/test/?': 'project:write',
  'GET /api/0/projects/:org/:project/rules/:ruleId/deliveries/?': 'project:read',
  'GET /api/0/projects/:org/:project/issues/?': 'event:read',
  'PUT /api/0/projects/:org/:project/issues/?': 'event:write',
  'DELETE /api/0/projects/:org/:project/issues/?': 'event:admin',
  'GET /api/0/organizations/:org/issues/?': 'event:read',
  'PUT /api/0/organizations/:org/issues/?': 'event:write',
  'DELETE /api/0/organizations/:org/issues/?': 'event:admin',
  ...issueRoutes('/api/0/issues/:issueId'),
  ...issueRoutes('/api/0/organizations/:org/issues/:issueId'),
  'GET /api/0/projects/:org/:project/events/?': 'event:read',
  'GET /api/0/projects/:org/:project/events/:eventId/?': 'event:read',
  'GET /api/0/projects/:org/:project/events/:eventId/grouping-info/?': 'event:read',
  'GET /api/0/projects/:org/:project/events/:eventId/attachments/?': 'event:read',
  'GET /api/0/projects/:org/:project/events/:eventId/attachments/:attachmentId/?': 'event:read',
  'GET /api/0/projects/:org/:project/user-feedback/?': 'event:read',
  'GET /api/0/organizations/:org/monitors/?': 'project:read',
  'GET /api/0/organizations/:org/monitors/:monitor/?': 'project:read',
  'GET /api/0/organizations/:org/monitors/:monitor/checkins/?': 'project:read',
  'GET /api/0/projects/:org/:project/monitors/:monitor/?': 'project:read',
  'GET /api/0/projects/:org/:project/monitors/:monitor/checkins/?': 'project:read',
  'GET /api/0/organizations/:org/events/:ref/?': 'event:read',
  'GET /api/0/organizations/:org/eventids/:eventId/?': 'event:read',
  'GET /api/0/organizations/:org/releases/?': 'project:read',
  'GET /api/0/organizations/:org/releases/:version/?': 'project:read',
  'GET /api/0/projects/:org/:project/releases/?': 'project:read',
  'GET /api/0/projects/:org/:project/outcomes/?': 'project:read',
  'GET /api/0/organizations/:org/stats_v2/?': 'org:read',
  'GET /api/0/organizations/:org/chunk-upload/?': 'project:releases',
  'POST /api/0/organizations/:org/chunk-upload/?': 'project:releases',
  'POST /api/0/organizations/:org/artifactbundle/assemble/?': 'project:releases',
  'GET /api/0/projects/:org/:project/releases/:version/files/?': 'project:read',
  'POST /api/0/projects/:org/:project/releases/:version/files/?': 'project:releases',
  'GET /api/0/organizations/:org/releases/:version/files/?': 'project:read',
  'POST /api/0/organizations/:org/releases/:version/files/?': 'project:releases',
  // members and invites (admin-members)
  'GET /api/0/organizations/:org/members/?': 'member:read',
  'POST /api/0/organizations/:org/members/?': 'member:write',
  'GET /api/0/organizations/:org/members/:memberId/?': 'member:read',
  'PUT /api/0/organizations/:org/members/:memberId/?': 'member:write',
  'DELETE /api/0/organizations/:org/members/:memberId/?': 'member:admin',
  'GET /api/0/users/me/?': null,
  'GET /api/0/api-tokens/?': null,
  'POST /api/0/api-tokens/?': null,
  'DELETE /api/0/api-tokens/?': null,
};

function issueRoutes(base: string): Record<string, Scope> {
  const out: Record<string, Scope> = { [`GET ${base}/?`]: 'event:read', [`PUT ${base}/?`]: 'event:write', [`DELETE ${base}/?`]: 'event:admin' };
  for (const sub of ['tags', 'tags/:key', 'tags/:key/values', 'grouping/info', 'hashes', 'events', 'events/:eventId', 'user-reports']) out[`GET ${base}/${sub}/?`] = 'event:read';
  // unmerge
  out[`DELETE ${base}/hashes/?`] = 'event:write';
  out[`PUT ${base}/hashes/?`] = 'event:write';
  // comments (the author or event:admin may edit and delete; checked inside)
  out[`GET ${base}/comments/?`] = 'event:read';
  out[`POST ${base}/comments/?`] = 'event:write';
  out[`PUT ${base}/comments/:commentId/?`] = 'event:write';
  out[`DELETE ${base}/comments/:commentId/?`] = 'event:write';
  return out;
}

const ORG = 'acme';
let app: TestApp;
let other: { id: number; slug: string };
let issueA: string;
let issueB: string;
/** what the scopes × routes test names in its URLs (its DELETE routes delete them, so not issueA) */
let issueC: string;
let throwawayKey: string;
let eventC: string;
const routes: ApiRoute[] = registerApiRoutes(new Router(), {} as AppContext);
const keyOf = (r: ApiRoute) => `${r.method} ${r.path}`;

async function sendError(projectId: number, key: string, n: number): Promise<{ eventId: string; issueId: string }> {
  const eventId = n.toString(16).padStart(32, '0');
  const r = await fetch(`${app.server.url}/api/${projectId}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: eventId, platform: 'python', level: 'error', exception: { values: [{ type: `Error${n}`, value: 'boom' }] } }),
  });
  expect(r.status).toBe(200);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await app.db.pool.query<{ issue_id: string }>('SELECT issue_id::text FROM report WHERE project_id = $1 AND event_id = $2', [projectId, eventId]);
    if (rows[0]) return { eventId, issueId: rows[0].issue_id };
    if (Date.now() > deadline) throw new Error(`event ${eventId} not digested`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function tokenFor(scopes: readonly Scope[], userId: number | null = null): Promise<string> {
  return (await createToken(app.db.pool, 'matrix', { scopes, userId })).token;
}

function call(method: string, path: string, token: string, body: unknown = method === 'GET' || method === 'DELETE' ? undefined : {}): Promise<Response> {
  return fetch(app.server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A concrete URL for a route pattern, naming this test's project, issue and event (deletions: a throwaway project). */
function urlOf(pattern: string, method: string): string {
  const values: Record<string, string> = { org: ORG, project: method === 'DELETE' ? 'throwaway' : 'app', team: ORG, keyId: method === 'DELETE' ? throwawayKey : '0', issueId: issueC, eventId: eventC, ref: `app:${eventC}`, version: '1.0', key: 'level', monitor: 'nightly' };
  return pattern.replace(/\/\?$/, '/').replace(/:(\w+)/g, (_m, name: string) => values[name] ?? '1');
}

beforeAll(async () => {
  app = await startApp('app', { ORGANIZATION_SLUG: ORG });
  const o = await createProject(app.db.pool, { name: 'other' });
  other = { id: o.project.id, slug: o.project.slug };
  throwawayKey = (await createProject(app.db.pool, { name: 'throwaway' })).key.public_key;
  issueA = (await sendError(app.projectId, app.key, 1)).issueId;
  const c = await sendError(app.projectId, app.key, 3);
  issueC = c.issueId;
  eventC = c.eventId;
  issueB = (await sendError(other.id, o.key.public_key, 2)).issueId;
});
afterAll(async () => {
  await app?.close();
});

describe('scopes × routes', () => {
  it('lists every /api/0/ route with its scope, and no route outside the table', () => {
    const registered = Object.fromEntries(routes.map((r) => [keyOf(r), r.scope]));
    expect(registered).toEqual(EXPECTED);
  });

  it('registers /api/0/ routes only through the API route table (which checks the scope)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith(join('api', 'routes.ts')) && /router\.add\([^)]*['`]\/api\/0/.test(readFileSync(p, 'utf8'))) offenders.push(p);
      }
    };
    walk(join(PACKAGE_ROOT, 'src'));
    expect(offenders).toEqual([]);
  });

  it('refuses a token without the route\'s scope (403 naming it) and lets one with just that scope through', async () => {
    // deletions last, so that the other routes still find what they name
    const ordered = [...routes].sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    const failures: string[] = [];
    for (const r of ordered) {
      const url = urlOf(r.path, r.method);
      if (r.scope) {
        const lacking = SCOPES.filter((s) => !expandScopes([s]).has(r.scope!));
        const refused = await call(r.method, url, await tokenFor(lacking));
        const detail = ((await refused.json().catch(() => ({}))) as { detail?: string }).detail ?? '';
        if (refused.status !== 403 || !detail.includes(r.scope)) failures.push(`${keyOf(r)} without ${r.scope}: ${refused.status} ${detail}`);
      }
      const allowed = await call(r.method, url, await tokenFor([r.scope ?? 'org:read']));
      await allowed.arrayBuffer();
      if (allowed.status === 401 || allowed.status === 403 || allowed.status >= 500) failures.push(`${keyOf(r)} with ${r.scope}: ${allowed.status}`);
    }
    expect(failures).toEqual([]);
  });
});

const users = {} as Record<Role, { id: number; token: string }>;

describe('roles × actions', () => {
  beforeAll(async () => {
    // the first user is the owner whatever is asked
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      const u = await createUser(app.db.pool, `${role}@example.com`, 'a long password', role);
      expect(u.role).toBe(role);
      users[role] = { id: u.id, token: await tokenFor(SCOPES, u.id) };
    }
  });

  const status = async () => (await app.db.pool.query<{ status: string }>('SELECT status FROM issue WHERE id = $1', [issueA])).rows[0]!.status;

  it('caps each token by its user\'s role: GET /api/0/ reports exactly the role\'s scopes', async () => {
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      const j = (await (await call('GET', '/api/0/', users[role].token)).json()) as { auth: { scopes: string[] }; user: { email: string } };
      expect(j.auth.scopes).toEqual([...expandScopes(ROLE_SCOPES[role])].sort());
      expect(j.user.email).toBe(`${role}@example.com`);
    }
  });

  it('lets every role read issues', async () => {
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) expect((await call('GET', `/api/0/issues/${issueA}/`, users[role].token)).status).toBe(200);
  });

  it('lets members and above triage; a viewer gets 403 and the issue stays as it was', async () => {
    const r = await call('PUT', `/api/0/issues/${issueA}/`, users.viewer.token, { status: 'resolved' });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/event:write/);
    expect(await status()).toBe('unresolved');
    for (const role of ['member', 'admin', 'owner'] as const) {
      expect((await call('PUT', `/api/0/issues/${issueA}/`, users[role].token, { status: 'resolved' })).status).toBe(200);
      expect(await status()).toBe('resolved');
      expect((await call('PUT', `/api/0/issues/${issueA}/`, users[role].token, { status: 'unresolved' })).status).toBe(200);
    }
  });

  it('lets only admins and owners change project settings and alert rules', async () => {
    for (const role of ['viewer', 'member'] as const) {
      expect((await call('PUT', `/api/0/projects/${ORG}/app/`, users[role].token, { name: `renamed by ${role}` })).status).toBe(403);
      expect((await call('POST', `/api/0/projects/${ORG}/app/hooks/`, users[role].token, { url: 'https://hooks.example.com/x', events: ['event.alert'] })).status).toBe(403);
    }
    const { rows } = await app.db.pool.query<{ name: string }>('SELECT name FROM project WHERE id = $1', [app.projectId]);
    expect(rows[0]!.name).toBe('app');
    expect((await app.db.pool.query('SELECT 1 FROM alert_rule')).rowCount).toBe(0);
    for (const role of ['admin', 'owner'] as const) expect((await call('PUT', `/api/0/projects/${ORG}/app/`, users[role].token, { name: 'app' })).status).toBe(200);
  });

  it('lets members upload source maps (project:releases), not viewers', async () => {
    expect((await call('GET', `/api/0/organizations/${ORG}/chunk-upload/`, users.viewer.token)).status).toBe(403);
    expect((await call('GET', `/api/0/organizations/${ORG}/chunk-upload/`, users.member.token)).status).toBe(200);
  });

  it('lets only admins and owners delete issues', async () => {
    expect((await call('DELETE', `/api/0/issues/${issueB}/`, users.member.token)).status).toBe(403);
    expect((await app.db.pool.query('SELECT 1 FROM issue WHERE id = $1', [issueB])).rowCount).toBe(1);
  });

  it('narrows a token the moment its user is demoted', async () => {
    await app.db.pool.query("UPDATE ui_user SET role = 'viewer' WHERE id = $1", [users.member.id]);
    expect((await call('PUT', `/api/0/issues/${issueA}/`, users.member.token, { status: 'resolved' })).status).toBe(403);
    await app.db.pool.query("UPDATE ui_user SET role = 'member' WHERE id = $1", [users.member.id]);
    expect(await status()).toBe('unresolved');
  });

  it('lets a token make tokens for its user only within its own scopes (api-tokens), and revoke them', async () => {
    const made = await call('POST', '/api/0/api-tokens/', users.member.token, { name: 'ci', scopes: ['event:read', 'project:read'] });
    expect(made.status).toBe(201);
    const t = (await made.json()) as { id: string; token: string; scopes: string[] };
    expect(t.scopes).toEqual(['event:read', 'project:read']);
    const info = (await (await call('GET', '/api/0/', t.token)).json()) as { auth: { scopes: string[] }; user: { email: string } };
    expect(info.user.email).toBe('member@example.com');
    expect(info.auth.scopes).toEqual(['event:read', 'project:read']);
    // not beyond its own scopes: the read-only token cannot mint a writer, the member cannot mint an admin
    expect((await call('POST', '/api/0/api-tokens/', t.token, { scopes: ['event:write'] })).status).toBe(403);
    expect((await call('POST', '/api/0/api-tokens/', users.member.token, { scopes: ['member:admin'] })).status).toBe(403);
    expect((await call('POST', '/api/0/api-tokens/', users.member.token, { scopes: ['nonsense'] })).status).toBe(400);
    // a token made on the host belongs to no user
    expect((await call('POST', '/api/0/api-tokens/', await tokenFor(SCOPES), { scopes: ['event:read'] })).status).toBe(400);
    const listed = (await (await call('GET', '/api/0/api-tokens/', users.member.token)).json()) as { id: string }[];
    expect(listed.map((x) => x.id)).toContain(t.id);
    // another user's token id is not theirs to revoke
    expect((await call('DELETE', '/api/0/api-tokens/', users.viewer.token, { tokenId: t.id })).status).toBe(404);
    expect((await call('DELETE', '/api/0/api-tokens/', users.member.token, { tokenId: t.id })).status).toBe(204);
    expect((await call('GET', '/api/0/', t.token)).status).toBe(401);
  });

  it('shows a member limited to one project only that project, and nothing of the other', async () => {
    await app.db.pool.query('UPDATE ui_user SET all_projects = false WHERE id = $1', [users.member.id]);
    await app.db.pool.query('INSERT INTO project_member (user_id, project_id) VALUES ($1, $2)', [users.member.id, app.projectId]);
    const t = users.member.token;
    const slugs = ((await (await call('GET', `/api/0/organizations/${ORG}/projects/`, t)).json()) as { slug: string }[]).map((p) => p.slug);
    expect(slugs).toEqual(['app']);
    const issues = ((await (await call('GET', `/api/0/organizations/${ORG}/issues/?query=`, t)).json()) as { id: string }[]).map((i) => i.id);
    expect(issues).toEqual([issueA]);
    expect((await call('GET', `/api/0/projects/${ORG}/${other.slug}/`, t)).status).toBe(403);
    expect((await call('GET', `/api/0/projects/${ORG}/${other.slug}/issues/`, t)).status).toBe(403);
    expect((await call('GET', `/api/0/organizations/${ORG}/issues/?project=${other.id}`, t)).status).toBe(403);
    expect((await call('GET', `/api/0/issues/${issueB}/`, t)).status).toBe(404);
    expect((await call('GET', `/api/0/issues/${issueB}/events/latest/`, t)).status).toBe(404);
    // an issue of another project matches nothing, as if it did not exist
    expect((await call('PUT', `/api/0/organizations/${ORG}/issues/?id=${issueB}`, t, { status: 'resolved' })).status).toBe(204);
    expect((await app.db.pool.query<{ status: string }>('SELECT status FROM issue WHERE id = $1', [issueB])).rows[0]!.status).toBe('unresolved');
    // and the project they are a member of works as before
    expect((await call('GET', `/api/0/issues/${issueA}/`, t)).status).toBe(200);
    // an organization release file changes every project's frames: not for a member of only some
    const f = new FormData();
    f.append('file', new Blob(['//# sourceMappingURL=app.js.map']), 'app.js');
    f.append('name', '~/app.js');
    const up = await fetch(`${app.server.url}/api/0/organizations/${ORG}/releases/r1/files/`, { method: 'POST', body: f, headers: { authorization: `Bearer ${t}` } });
    expect(up.status).toBe(403);
    expect(((await up.json()) as { detail: string }).detail).toMatch(/every project/);
    expect((await app.db.pool.query('SELECT 1 FROM artifact_bundle')).rowCount).toBe(0);
  });
});

describe('the web UI by role', () => {
  const page = async (cookie: string, path: string) => {
    const r = await fetch(app.server.url + path, { headers: { cookie }, redirect: 'manual' });
    return { status: r.status, text: await r.text() };
  };
  const issueStatus = async (id: string) => (await app.db.pool.query<{ status: string }>('SELECT status FROM issue WHERE id = $1', [id])).rows[0]!.status;

  it('shows a viewer the issues without buttons or settings, and refuses their status change', async () => {
    const cookie = await logIn(app.server, 'viewer@example.com', 'a long password');
    const issues = await getPage(app.server, '/projects/app/issues', cookie);
    expect(issues).not.toContain('Data scrubbing');
    const issue = await getPage(app.server, `/issues/${issueA}`, cookie);
    expect(issue).not.toMatch(/name="status" value="resolved"/);
    const r = await postForm(app.server, `/issues/${issueA}/status`, { _csrf: hidden(issue, '_csrf'), status: 'resolved' }, cookie);
    expect(r.status).toBe(403);
    expect(await issueStatus(issueA)).toBe('unresolved');
    for (const settings of ['grouping', 'scrubbing', 'alerts', 'storage']) expect((await page(cookie, `/projects/app/${settings}`)).status).toBe(403);
  });

  it('lets a member resolve from the issue page but not open the project settings', async () => {
    const cookie = await logIn(app.server, 'member@example.com', 'a long password');
    const issue = await getPage(app.server, `/issues/${issueA}`, cookie);
    const r = await postForm(app.server, `/issues/${issueA}/status`, { _csrf: hidden(issue, '_csrf'), status: 'resolved' }, cookie);
    expect(r.status).toBe(303);
    expect(await issueStatus(issueA)).toBe('resolved');
    await postForm(app.server, `/issues/${issueA}/status`, { _csrf: hidden(issue, '_csrf'), status: 'unresolved' }, cookie);
    const settings = await page(cookie, '/projects/app/scrubbing');
    expect(settings.status).toBe(403);
    expect(settings.text).toContain('project:write');
    // a member limited to project "app" (the API test above) sees nothing of the other one
    const projects = await getPage(app.server, '/projects', cookie);
    expect(projects).toContain('/projects/app/issues');
    expect(projects).not.toContain(`/projects/${other.slug}/issues`);
    expect((await page(cookie, `/projects/${other.slug}/issues`)).status).toBe(403);
    expect((await page(cookie, `/issues/${issueB}`)).status).toBe(404);
  });

  it('lets an admin open the settings pages', async () => {
    const cookie = await logIn(app.server, 'admin@example.com', 'a long password');
    for (const settings of ['grouping', 'scrubbing', 'alerts', 'storage']) await getPage(app.server, `/projects/app/${settings}`, cookie);
  });
});

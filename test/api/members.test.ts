import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { describeShared } from '../helpers/shared.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { createToken } from '../../src/api/tokens.js';
import { createSession } from '../../src/ui/sessions.js';
import { createInvite } from '../../src/members/invites.js';
import { tokenPrincipal } from '../../src/auth/principal.js';
import type { Role, Scope } from '../../src/auth/scopes.js';
import { ROLE_SCOPES, SCOPES } from '../../src/auth/scopes.js';

// The members API (Sentry's organizations/{org}/members/) over real HTTP: shapes, the invite link given
// once, and the role rules — admins cannot touch owners or make admins, nobody raises their own role,
// the last owner stays — each refusal a 403 that changes nothing; tokens capped by their maker's role.

let db: TestDatabase;
let server: RunningServer;
let env: Record<string, string>;
const users: Record<string, { id: number; token: string }> = {};
const BASE = '/api/0/organizations/acme/members/';

async function user(email: string, role: Role, scopes: readonly Scope[] = ROLE_SCOPES[role]): Promise<void> {
  const u = await createUser(db.pool, email, 'a long enough password', role);
  const { token } = await createToken(db.pool, email, { scopes, userId: u.id });
  users[email] = { id: Number(u.id), token };
}

const api = (who: string, method: string, path: string, body?: unknown) =>
  fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${users[who]!.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const roleOf = async (email: string) => (await db.pool.query('SELECT role FROM ui_user WHERE email = $1', [email])).rows[0]?.role as Role | undefined;

beforeAll(async () => {
  db = await freshDatabase();
  env = { DATABASE_URL: db.url, PUBLIC_URL: 'http://errors.example.com', ORGANIZATION_SLUG: 'acme' };
  await createProject(db.pool, { name: 'shop' });
  await createProject(db.pool, { name: 'blog' });
  await user('owner@example.com', 'owner'); // first user: owner
  await user('admin@example.com', 'admin');
  await user('member@example.com', 'member');
  await user('viewer@example.com', 'viewer');
  server = await startServer(env);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('GET members', () => {
  it('lists users in Sentry\'s member shape, to any role (member:read)', async () => {
    const r = await api('viewer@example.com', 'GET', BASE);
    expect(r.status).toBe(200);
    const list = (await r.json()) as Record<string, unknown>[];
    expect(list.map((m) => [m.email, m.orgRole, m.pending])).toEqual([
      ['owner@example.com', 'owner', false], ['admin@example.com', 'admin', false], ['member@example.com', 'member', false], ['viewer@example.com', 'viewer', false]]);
    expect(list[0]).toMatchObject({ id: String(users['owner@example.com']!.id), expired: false, inviteStatus: 'approved', projects: null,
      user: { id: String(users['owner@example.com']!.id), email: 'owner@example.com', hasPasswordAuth: true } });
    expect(Date.parse(list[0]!.dateCreated as string)).not.toBeNaN();
  });

  it('needs member:read: a token without it gets 403', async () => {
    const { token } = await createToken(db.pool, 'events only', { scopes: ['event:read'], userId: users['owner@example.com']!.id });
    const r = await fetch(server.url + BASE, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/lacks the member:read scope/);
  });

  it('GET users/me/ is the token\'s user', async () => {
    const r = await api('member@example.com', 'GET', '/api/0/users/me/');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ id: String(users['member@example.com']!.id), email: 'member@example.com', orgRole: 'member' });
  });
});

describe('POST members (invite)', () => {
  it('refuses viewers and members (member:write), and admins inviting an admin or owner', async () => {
    for (const who of ['viewer@example.com', 'member@example.com']) {
      expect((await api(who, 'POST', BASE, { email: 'x@example.com' })).status).toBe(403);
    }
    for (const orgRole of ['owner', 'admin']) {
      const r = await api('admin@example.com', 'POST', BASE, { email: 'boss@example.com', orgRole });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { detail: string }).detail).toMatch(new RegExp(`only owners can grant the ${orgRole} role`));
    }
    expect((await db.pool.query('SELECT count(*)::int AS n FROM member_invite')).rows[0].n).toBe(0);
  });

  it('rejects bad input with 400: unknown role, bad e-mail, unknown project, an existing member', async () => {
    for (const body of [{ email: 'a@example.com', orgRole: 'manager' }, { email: 'not-an-address' }, { email: 'a@example.com', projects: ['nope'] }, { email: 'MEMBER@example.com' }]) {
      const r = await api('admin@example.com', 'POST', BASE, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await db.pool.query('SELECT count(*)::int AS n FROM member_invite')).rows[0].n).toBe(0);
  });

  it('an admin invites a member limited to a project: 201 with the link once; later reads are pending members without it', async () => {
    const r = await api('admin@example.com', 'POST', BASE, { email: 'new@example.com', orgRole: 'member', projects: ['shop'] });
    expect(r.status).toBe(201);
    const m = (await r.json()) as Record<string, unknown>;
    expect(m).toMatchObject({ email: 'new@example.com', orgRole: 'member', pending: true, expired: false, user: null, inviteStatus: 'pending', inviterName: 'admin@example.com', projects: ['shop'] });
    expect(m.invite_link).toMatch(/^http:\/\/errors\.example\.com\/invite\/[A-Za-z0-9_-]{43}$/);
    const token = String(m.invite_link).split('/').pop()!;
    const { rows } = await db.pool.query('SELECT encode(token_sha256, \'hex\') AS h FROM member_invite WHERE id = $1', [m.id]);
    expect(rows[0].h).toHaveLength(64);
    expect(JSON.stringify(rows)).not.toContain(token);

    const list = (await (await api('viewer@example.com', 'GET', BASE)).json()) as Record<string, unknown>[];
    expect(list.find((x) => x.email === 'new@example.com')).toMatchObject({ id: m.id, pending: true });
    expect(JSON.stringify(list)).not.toContain(token);
    const detail = (await (await api('viewer@example.com', 'GET', `${BASE}${m.id}/`)).json()) as Record<string, unknown>;
    expect(detail).toMatchObject({ id: m.id, pending: true, invite_link: null });

    // withdrawing needs member:admin
    expect((await api('member@example.com', 'DELETE', `${BASE}${m.id}/`)).status).toBe(403);
    expect((await api('admin@example.com', 'DELETE', `${BASE}${m.id}/`)).status).toBe(204);
    expect((await api('admin@example.com', 'GET', `${BASE}${m.id}/`)).status).toBe(404);
  });
});

describe('invites with PASSWORD_LOGIN=false', () => {
  it('are refused: an invite makes a password account, and people come in through single sign-on', async () => {
    const owner = (await tokenPrincipal(db.pool, { id: 0, scopes: [...SCOPES], user_id: users['owner@example.com']!.id }))!;
    await expect(createInvite(db.pool, { inviteTtlHours: 72, passwordLogin: false }, owner, { email: 'sso@example.com', role: 'member', projectIds: null }))
      .rejects.toThrow(/password log-in is turned off \(PASSWORD_LOGIN=false\)/);
    const made = await createInvite(db.pool, { inviteTtlHours: 72, passwordLogin: true }, owner, { email: 'sso@example.com', role: 'member', projectIds: null });
    expect(made.invite).toMatchObject({ email: 'sso@example.com', role: 'member', project_ids: null, inviter_email: 'owner@example.com', expired: false });
    expect(made.invite.expires_at.getTime() - made.invite.created_at.getTime()).toBe(72 * 3600_000);
    await db.pool.query('DELETE FROM member_invite WHERE id = $1', [made.invite.id]);
  });
});

describe('PUT and DELETE members: the role rules', () => {
  const put = (who: string, target: string, body: unknown) => api(who, 'PUT', `${BASE}${users[target]!.id}/`, body);

  it('admins cannot make an admin or owner, nor touch an owner or another admin', async () => {
    // its token asks for every scope: capped to an admin's now, an owner's once promoted (below)
    await user('second-admin@example.com', 'admin', SCOPES);
    const refusals: [string, unknown, RegExp][] = [
      ['member@example.com', { orgRole: 'admin' }, /only owners can grant the admin role/],
      ['member@example.com', { orgRole: 'owner' }, /only owners can grant the owner role/],
      ['owner@example.com', { orgRole: 'member' }, /only owners can change the role of an owner/],
      ['second-admin@example.com', { orgRole: 'member' }, /only owners can change the role of an admin/],
      ['owner@example.com', { projects: ['shop'] }, /only owners can change an owner's projects/],
    ];
    for (const [target, body, why] of refusals) {
      const before = await roleOf(target);
      const r = await put('admin@example.com', target, body);
      expect(r.status, `${target} ${JSON.stringify(body)}`).toBe(403);
      expect(((await r.json()) as { detail: string }).detail).toMatch(why);
      expect(await roleOf(target)).toBe(before);
    }
    expect((await api('admin@example.com', 'DELETE', `${BASE}${users['owner@example.com']!.id}/`)).status).toBe(403);
    expect(await roleOf('owner@example.com')).toBe('owner');
  });

  it('nobody raises their own role', async () => {
    const r = await put('admin@example.com', 'admin@example.com', { orgRole: 'owner' });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/nobody can raise their own role/);
    expect(await roleOf('admin@example.com')).toBe('admin');
  });

  it('a member or viewer cannot change roles at all (member:write)', async () => {
    expect((await put('member@example.com', 'viewer@example.com', { orgRole: 'member' })).status).toBe(403);
    expect((await put('viewer@example.com', 'viewer@example.com', { orgRole: 'member' })).status).toBe(403);
    expect(await roleOf('viewer@example.com')).toBe('viewer');
  });

  it('the last owner can be neither demoted nor removed, by anyone; with a second owner it can', async () => {
    const owner = users['owner@example.com']!.id;
    for (const r of [await put('owner@example.com', 'owner@example.com', { orgRole: 'admin' }), await api('owner@example.com', 'DELETE', `${BASE}${owner}/`)]) {
      expect(r.status).toBe(403);
      expect(((await r.json()) as { detail: string }).detail).toMatch(/the last owner cannot be removed or demoted/);
    }
    const detail = (await (await api('owner@example.com', 'GET', `${BASE}${owner}/`)).json()) as Record<string, unknown>;
    expect(detail.isOnlyOwner).toBe(true);
    expect(await roleOf('owner@example.com')).toBe('owner');
    // the CLI is bound by the same rule
    await expect(cli(['user', 'role', '--email', 'owner@example.com', '--role', 'admin'], env)).rejects.toThrow(/the last owner cannot be removed or demoted/);
    await expect(cli(['user', 'delete', '--email', 'owner@example.com'], env)).rejects.toThrow(/the last owner/);

    const r = await put('owner@example.com', 'second-admin@example.com', { orgRole: 'owner' });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ orgRole: 'owner', isOnlyOwner: false });
    // one of two owners steps down by themself
    const back = await put('second-admin@example.com', 'second-admin@example.com', { orgRole: 'admin' });
    expect(back.status).toBe(200);
    expect(await roleOf('second-admin@example.com')).toBe('admin');
  });

  it('an owner can make an admin; an admin manages members and viewers', async () => {
    await user('dev@example.com', 'member');
    expect((await put('owner@example.com', 'dev@example.com', { orgRole: 'admin' })).status).toBe(200);
    expect((await put('owner@example.com', 'dev@example.com', { orgRole: 'member' })).status).toBe(200);
    const r = await put('admin@example.com', 'dev@example.com', { orgRole: 'viewer', projects: ['blog'] });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ orgRole: 'viewer', projects: ['blog'] });
    // a member limited to shop is not told that dev sees blog
    await user('limited@example.com', 'member');
    expect((await put('admin@example.com', 'limited@example.com', { projects: ['shop'] })).status).toBe(200);
    const seen = (await (await api('limited@example.com', 'GET', `${BASE}${users['dev@example.com']!.id}/`)).json()) as Record<string, unknown>;
    expect(seen).toMatchObject({ orgRole: 'viewer', projects: [] });
  });

  it('a token made by a member loses event:write when the member is demoted to viewer', async () => {
    await user('triager@example.com', 'member', ['event:read', 'event:write']);
    // past the scope check the handler answers 404 (no such issue); a refusal of the scope is 403
    const triage = () => api('triager@example.com', 'PUT', '/api/0/issues/999999/', { status: 'resolved' });
    expect((await triage()).status).toBe(404);
    expect((await put('admin@example.com', 'triager@example.com', { orgRole: 'viewer' })).status).toBe(200);
    const r = await triage();
    expect(r.status).toBe(403);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/event:write/);
  });

  it('removing a user (member:admin) ends their sessions and tokens', async () => {
    await user('leaver@example.com', 'viewer');
    await createSession(db.pool, users['leaver@example.com']!.id);
    expect((await api('member@example.com', 'DELETE', `${BASE}${users['leaver@example.com']!.id}/`)).status).toBe(403);
    expect((await api('admin@example.com', 'DELETE', `${BASE}${users['leaver@example.com']!.id}/`)).status).toBe(204);
    const left = await db.pool.query('SELECT (SELECT count(*) FROM ui_session WHERE user_id = $1)::int AS s, (SELECT count(*) FROM api_token WHERE user_id = $1)::int AS t', [users['leaver@example.com']!.id]);
    expect(left.rows[0]).toEqual({ s: 0, t: 0 });
    expect((await api('leaver@example.com', 'GET', BASE)).status).toBe(401);
  });
});

describe('CLI user role / user projects', () => {
  it('changes a role and limits a user to projects', async () => {
    await user('cli@example.com', 'member');
    expect(await cli(['user', 'role', '--email', 'cli@example.com', '--role', 'viewer'], env)).toMatch(/cli@example\.com is now viewer\./);
    expect(await cli(['user', 'projects', '--email', 'cli@example.com', '--projects', 'shop,blog'], env)).toMatch(/sees only projects shop, blog\./);
    const m = (await (await api('owner@example.com', 'GET', `${BASE}${users['cli@example.com']!.id}/`)).json()) as Record<string, unknown>;
    expect(m).toMatchObject({ orgRole: 'viewer', projects: ['shop', 'blog'] });
    expect(await cli(['user', 'projects', '--email', 'cli@example.com', '--all'], env)).toMatch(/sees every project\./);
    await expect(cli(['user', 'projects', '--email', 'cli@example.com', '--projects', 'nope'], env)).rejects.toThrow(/no project "nope"/);
    await expect(cli(['user', 'role', '--email', 'cli@example.com', '--role', 'boss'], env)).rejects.toThrow(/--role: one of owner, admin, member, viewer/);
    expect(await cli(['user', 'list'], env)).toMatch(/cli@example\.com\tviewer\t/);
  });
});

describeShared('sentry-openapi', 'member JSON against Sentry\'s OpenAPI schema', (dir) => {
  const spec = JSON.parse(readFileSync(join(dir, 'openapi-derefed.json'), 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { items?: { required: string[] }; required?: string[] } }> }> }>> };
  const listSchema = spec.paths['/api/0/organizations/{organization_id_or_slug}/members/']!.get!.responses['200']!.content['application/json']!.schema.items!;
  const detailSchema = spec.paths['/api/0/organizations/{organization_id_or_slug}/members/{member_id}/']!.get!.responses['200']!.content['application/json']!.schema;
  it('carries every required field of the list and the detail', async () => {
    const list = (await (await api('owner@example.com', 'GET', BASE)).json()) as Record<string, unknown>[];
    for (const m of list) for (const f of listSchema.required) expect(m, f).toHaveProperty(f);
    const d = (await (await api('owner@example.com', 'GET', `${BASE}${users['owner@example.com']!.id}/`)).json()) as Record<string, unknown>;
    for (const f of detailSchema.required!) expect(d, f).toHaveProperty(f);
  });
});

describe('malformed requests', () => {
  it('odd member ids and bodies are 4xx with a detail, never 5xx, and change nothing', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n, string_agg(role, \',\' ORDER BY id) AS roles FROM ui_user')).rows[0];
    const ids = ['0', '-1', 'abc', '1e5', '99999999999999999999', '%00', '%E0%A4%A', String(users['viewer@example.com']!.id)];
    const bodies = [{ orgRole: 7 }, { orgRole: null }, { projects: 'shop' }, { projects: [{}] }, { projects: [1e300] }, { orgRole: 'owner'.repeat(1000) }, { projects: Array(1001).fill('shop') }];
    for (const id of ids) {
      for (const [method, body] of [['GET', undefined], ['DELETE', undefined], ...bodies.map((b) => ['PUT', b] as const)] as const) {
        const r = await api('admin@example.com', method, `${BASE}${id}/`, body);
        expect(r.status, `${method} ${id} ${JSON.stringify(body)?.slice(0, 80)}`).toBeLessThan(500);
        if (id === String(users['viewer@example.com']!.id) && method !== 'PUT') {
          expect(r.status).toBe(method === 'GET' ? 200 : 204);
          continue;
        }
        expect(r.status, `${method} ${id} ${JSON.stringify(body)?.slice(0, 80)}`).not.toBe(200);
        if (r.status !== 204) expect(typeof ((await r.json()) as { detail: string }).detail).toBe('string');
      }
    }
    for (const body of [{}, { email: 7 }, { email: 'a@b', orgRole: ['member'] }, { email: 'x'.repeat(300) + '@example.com' }, { email: 'a@b', projects: [null] }]) {
      const r = await api('admin@example.com', 'POST', BASE, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const after = (await db.pool.query('SELECT count(*)::int AS n FROM ui_user')).rows[0];
    expect(after.n).toBe(before.n - 1); // only the viewer's DELETE, which was valid
  });
});

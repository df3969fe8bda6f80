import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMITS } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { send } from '../ingest/http.js';
import { getPage, hidden, logIn, postForm } from './web.js';

// Administering projects and DSN keys in the web UI, over HTTP with real sessions and CSRF tokens, for
// each role: owners and admins can; members and viewers get a 403 page, see no links, change nothing.

let db: TestDatabase;
let server: RunningServer;
const cookie: Record<string, string> = {};
let projectId: number;

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url };
  for (const role of ['owner', 'admin', 'member', 'viewer']) await cli(['user', 'create', '--email', `${role}@example.com`, '--password', `${role}-password`, '--role', role], env);
  projectId = Number(/Project (\d+)/.exec(await cli(['project', 'create', '--name', 'Shop'], env))![1]);
  server = await startServer({ DATABASE_URL: db.url, ...NO_RATE_LIMITS, INGEST_KEY_CACHE_MS: '0' });
  for (const role of ['owner', 'admin', 'member', 'viewer']) cookie[role] = await logIn(server, `${role}@example.com`, `${role}-password`);
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** The session's CSRF token, from a page every role can open. */
async function csrf(role: string): Promise<string> {
  return hidden(await getPage(server, '/projects', cookie[role]!), '_csrf');
}

async function post(role: string, path: string, fields: Record<string, string> = {}): Promise<Response> {
  return postForm(server, path, { _csrf: await csrf(role), ...fields }, cookie[role]);
}

async function get(role: string, path: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: { cookie: cookie[role]! }, redirect: 'manual' });
}

async function state() {
  const projects = await db.pool.query('SELECT id, name, slug, platform, rate_limit_per_sec FROM project ORDER BY id');
  const keys = await db.pool.query('SELECT public_key, label, disabled, rate_limit_count, rate_limit_window FROM project_key ORDER BY created_at, public_key');
  return { projects: projects.rows, keys: keys.rows };
}

function event(key: string): Promise<{ status: number; json: any }> {
  const id = randomUUID().replace(/-/g, '');
  return send(`${server.url}/api/${projectId}/store/`, {
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7` },
    body: JSON.stringify({ event_id: id, message: 'hello', level: 'error' }),
  });
}

describe('members and viewers', () => {
  for (const role of ['member', 'viewer']) {
    it(`${role}: no links, a 403 page for every page and form, and nothing changes`, async () => {
      const list = await getPage(server, '/projects', cookie[role]!);
      expect(list).not.toContain('/projects/new');
      expect(list).not.toContain('/settings');
      expect(await getPage(server, '/projects/shop/issues', cookie[role]!)).not.toContain('/projects/shop/settings');
      for (const path of ['/projects/new', '/projects/shop/settings', '/projects/shop/keys']) {
        const r = await get(role, path);
        expect(r.status, path).toBe(403);
        expect(r.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await r.text()).toMatch(/project:write/);
      }
      const before = await state();
      const key = before.keys[0].public_key;
      const attempts: [string, Record<string, string>][] = [
        ['/projects/new', { name: 'Sneaky' }],
        ['/projects/shop/settings', { name: 'Renamed', platform: 'go', rate_limit: '1' }],
        ['/projects/shop/delete', { confirm: 'shop' }],
        ['/projects/shop/keys', { label: 'mine' }],
        [`/projects/shop/keys/${key}/state`, { active: '0' }],
        [`/projects/shop/keys/${key}/rotate`, {}],
        [`/projects/shop/keys/${key}/rate-limit`, { count: '1', window: '60' }],
      ];
      for (const [path, fields] of attempts) {
        const r = await post(role, path, fields);
        expect(r.status, path).toBe(403);
        expect(await r.text()).toMatch(/project:(write|admin)/);
      }
      expect(await state()).toEqual(before);
    });
  }
});

describe('owners and admins', () => {
  it('see the links', async () => {
    for (const role of ['owner', 'admin']) {
      const list = await getPage(server, '/projects', cookie[role]!);
      expect(list).toContain('href="/projects/new"');
      expect(list).toContain('href="/projects/shop/settings"');
      expect(await getPage(server, '/projects/shop/issues', cookie[role]!)).toContain('href="/projects/shop/settings"');
      const settings = await getPage(server, '/projects/shop/settings', cookie[role]!);
      for (const p of ['keys', 'grouping', 'scrubbing', 'alerts', 'storage']) expect(settings).toContain(`href="/projects/shop/${p}"`);
    }
  });

  it('a POST without the CSRF token is refused and changes nothing', async () => {
    const before = await state();
    const r = await postForm(server, '/projects/new', { name: 'No token' }, cookie.owner);
    expect(r.status).toBe(403);
    expect(await r.text()).toMatch(/CSRF/);
    expect(await state()).toEqual(before);
  });

  it('the owner creates a project (slug from the name) and lands on its keys with the DSN', async () => {
    const r = await post('owner', '/projects/new', { name: 'Billing API', platform: 'node' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/projects/billing-api/keys?created=1');
    const { rows } = await db.pool.query("SELECT p.id, p.platform, k.public_key FROM project p JOIN project_key k ON k.project_id = p.id WHERE p.slug = 'billing-api'");
    expect(rows).toHaveLength(1);
    expect(rows[0].platform).toBe('node');
    const keys = await getPage(server, '/projects/billing-api/keys?created=1', cookie.owner!);
    expect(keys).toContain(`${rows[0].public_key}@`);
    expect(keys).toContain('Project created');
    expect((await post('owner', '/projects/new', { name: '   ' })).status).toBe(400);
  });

  it('an admin renames the project and sets its rate limit; a bad value is a 400 that changes nothing', async () => {
    const r = await post('admin', '/projects/shop/settings', { name: 'Shop <EU>', platform: 'python', rate_limit: '25' });
    expect(r.status).toBe(303);
    let p = (await db.pool.query('SELECT name, slug, platform, rate_limit_per_sec FROM project WHERE id = $1', [projectId])).rows[0];
    expect(p).toEqual({ name: 'Shop <EU>', slug: 'shop', platform: 'python', rate_limit_per_sec: 25 });
    expect(await getPage(server, '/projects/shop/settings', cookie.admin!)).toContain('value="Shop &lt;EU&gt;"');
    const bad = await post('admin', '/projects/shop/settings', { name: 'Other', platform: 'go', rate_limit: 'fast' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/Rate limit must be a whole number/);
    p = (await db.pool.query('SELECT name, slug, platform, rate_limit_per_sec FROM project WHERE id = $1', [projectId])).rows[0];
    expect(p).toEqual({ name: 'Shop <EU>', slug: 'shop', platform: 'python', rate_limit_per_sec: 25 });
    // Back to the default (empty), as the CLI's `--rate-limit default`.
    await post('admin', '/projects/shop/settings', { name: 'Shop', platform: 'python', rate_limit: '' });
    expect((await db.pool.query('SELECT rate_limit_per_sec FROM project WHERE id = $1', [projectId])).rows[0].rate_limit_per_sec).toBe(null);
  });

  it('an admin creates a key with a rate limit, disables and enables it (ingest follows), and changes its limit', async () => {
    const r = await post('admin', '/projects/shop/keys', { label: 'Mobile', count: '100', window: '3600' });
    expect(r.status).toBe(303);
    const k = (await db.pool.query("SELECT public_key, rate_limit_count, rate_limit_window FROM project_key WHERE label = 'Mobile'")).rows[0];
    expect(k).toMatchObject({ rate_limit_count: 100, rate_limit_window: 3600 });
    expect(r.headers.get('location')).toBe(`/projects/shop/keys#key-${k.public_key}`);
    const page = await getPage(server, '/projects/shop/keys', cookie.admin!);
    expect(page).toContain('100 errors / 3600 s');
    expect(page).toContain(`${k.public_key}@`);
    expect((await event(k.public_key)).status).toBe(200);

    expect((await post('admin', `/projects/shop/keys/${k.public_key}/state`, { active: '0' })).status).toBe(303);
    const refused = await event(k.public_key);
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toMatch(/disabled/);
    expect((await post('admin', `/projects/shop/keys/${k.public_key}/state`, { active: '1' })).status).toBe(303);
    expect((await event(k.public_key)).status).toBe(200);

    expect((await post('admin', `/projects/shop/keys/${k.public_key}/rate-limit`, { count: '', window: '' })).status).toBe(303);
    expect((await db.pool.query('SELECT rate_limit_count FROM project_key WHERE public_key = $1', [k.public_key])).rows[0].rate_limit_count).toBe(null);
    const bad = await post('admin', `/projects/shop/keys/${k.public_key}/rate-limit`, { count: '5', window: '100000' });
    expect(bad.status).toBe(400);
    expect((await post('admin', '/projects/shop/keys', { label: '' })).status).toBe(400);
    expect((await db.pool.query('SELECT rate_limit_count FROM project_key WHERE public_key = $1', [k.public_key])).rows[0].rate_limit_count).toBe(null);
  });

  it('rotating a key: a new key with its name and limit replaces it, the old one is disabled and refused at ingest', async () => {
    await post('admin', '/projects/shop/keys', { label: 'Web', count: '7', window: '60' });
    const old = (await db.pool.query("SELECT public_key FROM project_key WHERE label = 'Web'")).rows[0].public_key;
    const r = await post('owner', `/projects/shop/keys/${old}/rotate`);
    expect(r.status).toBe(303);
    const { rows } = await db.pool.query("SELECT public_key, disabled, replaced_by, rate_limit_count, rate_limit_window FROM project_key WHERE label = 'Web' ORDER BY disabled");
    expect(rows).toHaveLength(2);
    const [fresh, rotated] = rows;
    expect(fresh).toMatchObject({ disabled: false, replaced_by: null, rate_limit_count: 7, rate_limit_window: 60 });
    expect(rotated).toMatchObject({ public_key: old, disabled: true, replaced_by: fresh.public_key });
    expect(r.headers.get('location')).toBe(`/projects/shop/keys#key-${fresh.public_key}`);
    expect(await getPage(server, '/projects/shop/keys', cookie.owner!)).toContain(`replaced by <code>${fresh.public_key.slice(0, 8)}`);
    expect((await event(old)).status).toBe(403);
    expect((await event(fresh.public_key)).status).toBe(200);
    expect((await post('owner', '/projects/shop/keys/nosuchkey/rotate')).status).toBe(404);
  });

  it('deleting asks for the slug typed: anything else is a 400 page and deletes nothing; the slug deletes the project and all it stored', async () => {
    const before = await state();
    for (const confirm of ['', 'Shop', 'billing-api', 'shop ']) {
      const r = await post('admin', '/projects/shop/delete', { confirm });
      expect(r.status, JSON.stringify(confirm)).toBe(confirm === 'shop ' ? 303 : 400);
      if (r.status === 303) break; // surrounding spaces are forgiven: the slug was typed
      expect(await r.text()).toMatch(/type its slug \(shop\) exactly; nothing was deleted/);
      expect(await state()).toEqual(before);
    }
    expect((await db.pool.query('SELECT count(*)::int AS n FROM project WHERE id = $1', [projectId])).rows[0].n).toBe(0);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM project_key WHERE project_id = $1', [projectId])).rows[0].n).toBe(0);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM report WHERE project_id = $1', [projectId])).rows[0].n).toBe(0);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM archive WHERE project_id = $1', [projectId])).rows[0].n).toBe(0);
    const list = await getPage(server, '/projects?deleted=shop', cookie.admin!);
    expect(list).toContain('Project shop deleted.');
    expect(list).not.toContain('href="/projects/shop/issues"');
    expect(server.logs.some((l) => l.includes('"project deleted"') && l.includes('"by":"admin@example.com"'))).toBe(true);
    expect((await get('admin', '/projects/shop/settings')).status).toBe(404);
  });
});

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';

// Tokens through the real CLI, checked by the real server over HTTP; organization and project shapes.

let db: TestDatabase;
let server: RunningServer;
let env: Record<string, string>;
let token: string;

beforeAll(async () => {
  db = await freshDatabase();
  env = { DATABASE_URL: db.url, PUBLIC_URL: 'http://errors.example.com', ORGANIZATION_SLUG: 'acme' };
  await cli(['project', 'create', '--name', 'My App', '--key', 'a'.repeat(32), '--platform', 'python'], env);
  const out = await cli(['token', 'create', '--name', 'ci'], env);
  token = /^([0-9a-f]{64})$/m.exec(out)![1]!;
  server = await startServer(env);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const get = (path: string, tok: string | null = token) =>
  fetch(server.url + path, { headers: tok === null ? {} : { authorization: `Bearer ${tok}` } });

describe('API tokens', () => {
  it('stores only a hash and a prefix', async () => {
    const { rows } = await db.pool.query('SELECT name, prefix, token_sha256 FROM api_token');
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe('ci');
    expect(rows[0].prefix).toBe(token.slice(0, 8));
    expect(Buffer.from(rows[0].token_sha256).toString('hex')).not.toContain(token.slice(0, 16));
  });

  it('answers 401 with a JSON detail without a token, with a wrong one, with another scheme', async () => {
    for (const [tok, hdr] of [[null, undefined], ['f'.repeat(64), undefined], ['nonsense', undefined], [null, `Basic ${token}`]] as const) {
      const r = hdr ? await fetch(server.url + '/api/0/organizations/', { headers: { authorization: hdr } }) : await get('/api/0/organizations/', tok);
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(typeof ((await r.json()) as { detail: string }).detail).toBe('string');
    }
  });

  it('GET /api/0/ tells the token scopes (sentry-cli info)', async () => {
    const r = await get('/api/0/');
    expect(r.status).toBe(200);
    const j = (await r.json()) as { auth: { scopes: string[] }; user: null };
    expect(j.auth.scopes).toContain('project:read');
    expect(j.user).toBeNull();
  });

  it('lists and revokes tokens by prefix; a revoked token gets 401 at once', async () => {
    const second = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create'], env))![1]!;
    expect((await get('/api/0/', second)).status).toBe(200);
    const list = await cli(['token', 'list'], env);
    expect(list).toContain(`${token.slice(0, 8)}…\tci`);
    expect(list).toContain(second.slice(0, 8));
    expect(list).not.toContain(second);
    expect(await cli(['token', 'revoke', second.slice(0, 8)], env)).toMatch(/Revoked token 2/);
    expect((await get('/api/0/', second)).status).toBe(401);
    expect((await get('/api/0/', token)).status).toBe(200);
    expect(await cli(['token', 'list'], env)).toMatch(/\trevoked /);
    await expect(cli(['token', 'revoke', '99'], env)).rejects.toThrow(/No active token 99/);
  });
});

describe('a refused request with a body', () => {
  /** POSTs `body` in two writes 100 ms apart, as an uploader streams a file; the answer and whether a write failed. */
  function postSlowly(path: string, tok: string, body: Buffer): Promise<{ status: number; connection: string | undefined; json: unknown; writeError: string | null }> {
    return new Promise((resolve, reject) => {
      let writeError: string | null = null;
      const req = request(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, json: JSON.parse(text), writeError }));
      });
      req.on('error', (e) => (writeError ? resolve({ status: 0, connection: undefined, json: null, writeError }) : reject(e)));
      req.write(body.subarray(0, 100));
      setTimeout(() => req.end(body.subarray(100), () => {}), 100);
      req.on('error', (e) => (writeError = String(e)));
    });
  }

  it('is read to its end when small, so the client sees the 403 instead of a broken pipe (sentry-cli with a token lacking a scope)', async () => {
    const readOnly = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'ro', '--scopes', 'event:read'], env))![1]!;
    const r = await postSlowly('/api/0/organizations/acme/chunk-upload/', readOnly, Buffer.alloc(4096, 1));
    expect(r.writeError).toBeNull();
    expect(r.status).toBe(403);
    expect(r.connection).not.toBe('close');
    expect((r.json as { detail: string }).detail).toMatch(/project:releases/);
  });
});

describe('organizations and projects', () => {
  it('has one organization named by ORGANIZATION_SLUG', async () => {
    const r = await get('/api/0/organizations/');
    const list = (await r.json()) as { slug: string; id: string; require2FA: boolean }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: '1', slug: 'acme', require2FA: false, isEarlyAdopter: false });
    expect(r.headers.get('link')).toMatch(/rel="next"; results="false"/);
    const one = (await (await get('/api/0/organizations/acme/')).json()) as { slug: string; projects: { slug: string }[] };
    expect(one.slug).toBe('acme');
    expect(one.projects.map((p) => p.slug)).toEqual(['my-app']);
    const other = await get('/api/0/organizations/other/');
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ detail: 'The requested resource does not exist' });
  });

  it('lists projects, shows one by slug, and its DSNs', async () => {
    for (const path of ['/api/0/projects/', '/api/0/organizations/acme/projects/']) {
      const list = (await (await get(path)).json()) as Record<string, unknown>[];
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ id: '1', slug: 'my-app', name: 'My App', platform: 'python', team: { slug: 'acme' } });
    }
    const p = (await (await get('/api/0/projects/acme/my-app/')).json()) as Record<string, unknown>;
    expect(p).toMatchObject({ id: '1', slug: 'my-app', organization: { slug: 'acme' } });
    expect((await get('/api/0/projects/acme/nope/')).status).toBe(404);
    expect((await get('/api/0/projects/other/my-app/')).status).toBe(404);
    const keys = (await (await get('/api/0/projects/acme/my-app/keys/')).json()) as { public: string; isActive: boolean; dsn: { public: string } }[];
    expect(keys).toHaveLength(1);
    expect(keys[0]!.public).toBe('a'.repeat(32));
    expect(keys[0]!.isActive).toBe(true);
    expect(keys[0]!.dsn.public).toBe(`http://${'a'.repeat(32)}@errors.example.com/1`);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { createSession } from '../../src/ui/sessions.js';
import * as web from './web.js';
import { cookiesOf, hidden } from './web.js';

// Login, logout, CSRF and session expiry over real HTTP against the built server.

let db: TestDatabase;
let server: RunningServer;
const EMAIL = 'ops@example.com';
const PASSWORD = 'correct horse battery staple';

const loginForm = () => web.loginForm(server);
const postForm = (path: string, fields: Record<string, string>, cookie = '') => web.postForm(server, path, fields, cookie);
// A session made the way a login makes it, without another ~350 ms password hash per test.
const newSession = async () => `cc_session=${(await createSession(db.pool, 1)).token}`;

beforeAll(async () => {
  db = await freshDatabase();
  const out = await cli(['user', 'create', '--email', EMAIL, '--password', PASSWORD], { DATABASE_URL: db.url });
  expect(out).toMatch(/User 1 ops@example.com created \(owner\)/);
  const second = await cli(['user', 'create', '--email', 'dev@example.com', '--password', 'another password'], { DATABASE_URL: db.url });
  expect(second).not.toMatch(/admin/);
  server = await startServer({ DATABASE_URL: db.url });
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('web UI authentication', () => {
  it('stores only an scrypt hash of the password', async () => {
    const { rows } = await db.pool.query('SELECT password_hash FROM ui_user WHERE email = $1', [EMAIL]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$65536\$8\$2\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(rows[0].password_hash).not.toContain(PASSWORD);
  });

  it('refuses a second user with the same e-mail, in any case', async () => {
    await expect(cli(['user', 'create', '--email', 'OPS@example.com', '--password', 'whatever12'], { DATABASE_URL: db.url })).rejects.toThrow(/already exists/);
  });

  it('asks for --password when not run on a terminal', async () => {
    await expect(cli(['user', 'create', '--email', 'batch@example.com'], { DATABASE_URL: db.url })).rejects.toThrow(/give --password when not run on a terminal/);
    await expect(cli(['user', 'create', '--email', 'short@example.com', '--password', 'short'], { DATABASE_URL: db.url })).rejects.toThrow(/at least 8 characters/);
  });

  it('redirects pages to the login page without a session, and sends the CSP', async () => {
    const r = await fetch(`${server.url}/projects`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login?next=%2Fprojects');
    const login = await fetch(`${server.url}/login`);
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(login.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(login.headers.get('x-frame-options')).toBe('DENY');
  });

  it('fails a login with a wrong password, and with an unknown e-mail, the same way', async () => {
    const f = await loginForm();
    const wrong = await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: 'nope' }, f.cookie);
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Wrong e-mail or password.');
    expect(cookiesOf(wrong).cc_session).toBeUndefined();
    const unknown = await postForm('/login', { _csrf: f.csrf, email: 'nobody@example.com', password: PASSWORD }, f.cookie);
    expect(unknown.status).toBe(401);
    expect(cookiesOf(unknown).cc_session).toBeUndefined();
  });

  it('rejects a login POST without the CSRF token or with another one (403)', async () => {
    const f = await loginForm();
    const none = await postForm('/login', { email: EMAIL, password: PASSWORD }, f.cookie);
    expect(none.status).toBe(403);
    expect(none.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await none.text()).toMatch(/CSRF/);
    const other = await postForm('/login', { _csrf: 'A'.repeat(32), email: EMAIL, password: PASSWORD }, f.cookie);
    expect(other.status).toBe(403);
    const noCookie = await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: PASSWORD });
    expect(noCookie.status).toBe(403);
  });

  it('signs the login CSRF token: a pair the client chose, or a cookie it altered, is refused (403)', async () => {
    // the double-submit pair the server used to accept: the same value in the cookie and the field
    const chosen = 'A'.repeat(32);
    const pair = await postForm('/login', { _csrf: chosen, email: EMAIL, password: PASSWORD }, `cc_login_csrf=${chosen}`);
    expect(pair.status).toBe(403);
    // a server-issued cookie with another nonce (its signature no longer matches), or another issue time
    const f = await loginForm();
    const value = f.cookie.slice(f.cookie.indexOf('=') + 1);
    const [nonce, issued, sig] = value.split('.') as [string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const altered of [`${flip(nonce)}.${issued}.${sig}`, `${nonce}.${Number(issued) - 1}.${sig}`, `${nonce}.${issued}.${flip(sig)}`]) {
      expect((await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: PASSWORD }, `cc_login_csrf=${altered}`)).status).toBe(403);
    }
    // the token of one visitor's page does not go with another visitor's cookie
    const g = await loginForm();
    expect((await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: PASSWORD }, g.cookie)).status).toBe(403);
    // the key is the database's, generated once (32 bytes), and never logged
    const { rows } = await db.pool.query<{ value: Buffer }>("SELECT value FROM server_secret WHERE name = 'login_csrf'");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.value.length).toBe(32);
    const logs = server.logs.join('\n');
    expect(logs).not.toContain(rows[0]!.value.toString('hex'));
    expect(logs).not.toContain(rows[0]!.value.toString('base64'));
    // and the genuine pair still logs in
    expect((await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: PASSWORD }, f.cookie)).status).toBe(303);
  });

  it('logs in with a HttpOnly SameSite=Lax cookie and shows pages', async () => {
    const f = await loginForm();
    const r = await postForm('/login', { _csrf: f.csrf, email: 'Ops@Example.com', password: PASSWORD, next: '/projects' }, f.cookie);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/projects');
    const set = r.headers.getSetCookie().find((c) => c.startsWith('cc_session='))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Lax/);
    expect(set).not.toMatch(/Secure/); // PUBLIC_URL is http here
    const page = await fetch(`${server.url}/projects`, { headers: { cookie: `cc_session=${cookiesOf(r).cc_session}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('ops@example.com');
  });

  it('does not follow an off-site next= after login', async () => {
    const f = await loginForm();
    const r = await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: PASSWORD, next: '//evil.example/' }, f.cookie);
    expect(r.headers.get('location')).toBe('/');
  });

  it('rejects a logged-in POST without the session CSRF token (403) and keeps the session', async () => {
    const session = await newSession();
    expect((await postForm('/logout', {}, session)).status).toBe(403);
    expect((await postForm('/logout', { _csrf: 'x'.repeat(32) }, session)).status).toBe(403);
    const page = await fetch(`${server.url}/projects`, { headers: { cookie: session }, redirect: 'manual' });
    expect(page.status).toBe(200);
  });

  it('logs out with the token, and the old cookie no longer works', async () => {
    const session = await newSession();
    const page = await (await fetch(`${server.url}/projects`, { headers: { cookie: session } })).text();
    const r = await postForm('/logout', { _csrf: hidden(page, '_csrf') }, session);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login');
    const after = await fetch(`${server.url}/projects`, { headers: { cookie: session }, redirect: 'manual' });
    expect(after.status).toBe(303);
  });

  it('ends an expired session', async () => {
    const session = await newSession();
    expect((await fetch(`${server.url}/projects`, { headers: { cookie: session }, redirect: 'manual' })).status).toBe(200);
    // Expire every session now (as if SESSION_IDLE_DAYS had passed) rather than wait.
    await db.pool.query(`UPDATE ui_session SET expires_at = now() - interval '1 second'`);
    const r = await fetch(`${server.url}/projects`, { headers: { cookie: session }, redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toMatch(/^\/login/);
  });

  it('names cookies __Host- and marks them Secure when PUBLIC_URL is https', async () => {
    const tls = await startServer({ DATABASE_URL: db.url, PUBLIC_URL: 'https://errors.example.com' });
    try {
      const page = await fetch(`${tls.url}/login`);
      const csrf = hidden(await page.text(), '_csrf');
      const loginCookie = page.headers.getSetCookie()[0]!;
      expect(loginCookie).toMatch(/^__Host-cc_login_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=86400; Secure$/);
      const r = await web.postForm(tls, '/login', { _csrf: csrf, email: EMAIL, password: PASSWORD }, `__Host-cc_login_csrf=${cookiesOf(page)['__Host-cc_login_csrf']}`);
      expect(r.status).toBe(303);
      const set = r.headers.getSetCookie().find((c) => c.startsWith('__Host-cc_session='))!;
      expect(set).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
      // the plain name is not read over https: a cookie set by a plain-http page or a subdomain does nothing
      const session = cookiesOf(r)['__Host-cc_session']!;
      expect((await fetch(`${tls.url}/projects`, { headers: { cookie: `cc_session=${session}` }, redirect: 'manual' })).status).toBe(303);
      expect((await fetch(`${tls.url}/projects`, { headers: { cookie: `__Host-cc_session=${session}` }, redirect: 'manual' })).status).toBe(200);
    } finally {
      await tls.stop();
    }
  });

  it('names cookies __Host- and marks them Secure when a trusted proxy says the request came over https, only then', async () => {
    const proxied = await startServer({ DATABASE_URL: db.url, TRUSTED_PROXIES: '127.0.0.1' });
    const untrusted = await startServer({ DATABASE_URL: db.url, TRUSTED_PROXIES: '192.0.2.1' });
    try {
      for (const headers of [{ 'x-forwarded-proto': 'https' }, { forwarded: 'for=198.51.100.1;proto=https' }]) {
        const page = await fetch(`${proxied.url}/login`, { headers });
        expect(page.headers.getSetCookie()[0]).toMatch(/^__Host-cc_login_csrf=.*; Secure$/);
        const r = await fetch(`${proxied.url}/login`, {
          method: 'POST', redirect: 'manual',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-cc_login_csrf=${cookiesOf(page)['__Host-cc_login_csrf']}` },
          body: new URLSearchParams({ _csrf: hidden(await page.text(), '_csrf'), email: EMAIL, password: PASSWORD }).toString(),
        });
        expect(r.status).toBe(303);
        expect(r.headers.getSetCookie().find((c) => c.startsWith('__Host-cc_session='))).toMatch(/; Secure$/);
      }
      // the proxy's plain http, and anyone else's header: plain names, not Secure
      expect((await fetch(`${proxied.url}/login`, { headers: { 'x-forwarded-proto': 'http' } })).headers.getSetCookie()[0]).toMatch(/^cc_login_csrf=[^;]+(;(?! Secure)[^;]*)*$/);
      expect((await fetch(`${untrusted.url}/login`, { headers: { 'x-forwarded-proto': 'https' } })).headers.getSetCookie()[0]).toMatch(/^cc_login_csrf=[^;]+(;(?! Secure)[^;]*)*$/);
    } finally {
      await Promise.all([proxied.stop(), untrusted.stop()]);
    }
  });

  it('serves the stylesheet and the script, and nothing else from /static/', async () => {
    const css = await fetch(`${server.url}/static/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect(await css.text()).toContain('prefers-color-scheme: dark');
    expect((await fetch(`${server.url}/static/app.js`)).status).toBe(200);
    expect((await fetch(`${server.url}/static/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  it('lists users, changes a password (ending that user\'s sessions) and deletes a user', async () => {
    const session = await newSession();
    const env = { DATABASE_URL: db.url };
    expect(await cli(['user', 'list'], env)).toMatch(/^1\tops@example.com\towner\t\d+ active sessions?\n2\tdev@example.com\tmember\t0 active sessions\n$/);
    expect(await cli(['user', 'password', '--email', 'OPS@example.com', '--password', 'a new long password'], env)).toMatch(/Password of OPS@example.com changed/);
    expect((await fetch(`${server.url}/projects`, { headers: { cookie: session }, redirect: 'manual' })).status).toBe(303);
    const f = await loginForm();
    expect((await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: PASSWORD }, f.cookie)).status).toBe(401);
    expect((await postForm('/login', { _csrf: f.csrf, email: EMAIL, password: 'a new long password' }, f.cookie)).status).toBe(303);
    expect(await cli(['user', 'delete', '--email', 'dev@example.com'], env)).toBe('Deleted dev@example.com.\n');
    expect(await cli(['user', 'list'], env)).not.toContain('dev@example.com');
  });
});

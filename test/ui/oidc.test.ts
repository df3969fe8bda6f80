import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { userForAccount, OidcRefused } from '../../src/oidc/accounts.js';
import { createUser } from '../../src/ui/users.js';
import { cookiesOf, hidden } from './web.js';

// OIDC log-in against a real OpenID provider (the oidc-provider package) on a local port, started by this
// test after crash-cache (so start-up meets a provider that is down). The provider's interaction
// endpoint logs in whichever test account `op.account` names, with no UI (or denies, with `op.deny`);
// consent is granted by loadExistingGrant, as for a first-party client. crash-cache runs with
// PASSWORD_LOGIN=false, OIDC_ALLOWED_DOMAINS=example.com and OIDC_DEFAULT_ROLE=viewer.

const CLIENT_ID = 'crash-cache';
const CLIENT_SECRET = 'a-client-secret-for-the-test-only';
const ACCOUNTS: Record<string, { email: string; email_verified?: boolean }> = {
  'alice-sub': { email: 'alice@example.com', email_verified: true },
  'dave-sub': { email: 'Dave@Example.com', email_verified: true },
  'bob-sub': { email: 'bob@other.org', email_verified: true },
  'carol-sub': { email: 'carol@example.com', email_verified: false },
};
const op = { account: 'alice-sub', deny: false };

let db: TestDatabase;
let app: RunningServer;
let opServer: Server;
let opPort: number;
let appPort: number;
let issuer: string;
let provider: Provider | null = null;
let ownerId: number;
let daveId: number;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function startProvider(): Promise<void> {
  const appUrl = `http://127.0.0.1:${appPort}`;
  provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${appUrl}/login/oidc/callback`],
      post_logout_redirect_uris: [`${appUrl}/login`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    cookies: { keys: ['test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const a = ACCOUNTS[sub];
      if (!a) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...a }) };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();
  opServer = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      const result = op.deny ? { error: 'access_denied', error_description: 'the user said no' } : { login: { accountId: op.account } };
      provider!.interactionFinished(req, res, result, { mergeWithLastSubmission: false }).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    handle(req, res);
  });
  return new Promise((r) => opServer.listen(opPort, '127.0.0.1', () => r()));
}

/** The provider's cookies of one browser. */
class Jar {
  cookies = new Map<string, string>();
  async fetch(url: string): Promise<Response> {
    const r = await fetch(url, { redirect: 'manual', headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of r.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const eq = kv!.indexOf('=');
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(kv!.slice(0, eq));
      else this.cookies.set(kv!.slice(0, eq), kv!.slice(eq + 1));
    }
    return r;
  }
}

interface Flow {
  /** the state cookie crash-cache set when the log-in started */
  stateCookie: string;
  /** where the provider sent the browser back to */
  callback: URL;
  jar: Jar;
}

/** Starts a log-in at crash-cache and goes through the provider (a fresh browser) up to its redirect back. */
async function throughProvider(account: string, next = '/projects'): Promise<Flow> {
  op.account = account;
  const start = await fetch(`${app.url}/login/oidc?next=${encodeURIComponent(next)}`, { redirect: 'manual' });
  expect(start.status).toBe(303);
  const [name, value] = Object.entries(cookiesOf(start)).find(([k]) => k.endsWith('cc_oidc'))!;
  let location = new URL(start.headers.get('location')!);
  expect(location.origin).toBe(issuer);
  expect(location.searchParams.get('code_challenge_method')).toBe('S256');
  expect(location.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${appPort}/login/oidc/callback`);
  const jar = new Jar();
  for (let hops = 0; location.origin === issuer; hops++) {
    expect(hops, 'redirects at the provider').toBeLessThan(10);
    const r = await jar.fetch(location.href);
    expect([302, 303], `${location.pathname}: ${r.status} ${r.status >= 400 ? await r.text() : ''}`).toContain(r.status);
    location = new URL(r.headers.get('location')!, location);
  }
  return { stateCookie: `${name}=${value}`, callback: location, jar };
}

/** The whole log-in; returns crash-cache's answer to the callback. */
async function logInAs(account: string, next = '/projects'): Promise<{ res: Response; flow: Flow }> {
  const flow = await throughProvider(account, next);
  const res = await fetch(flow.callback, { redirect: 'manual', headers: { cookie: flow.stateCookie } });
  return { res, flow };
}

function sessionCookie(r: Response): string | undefined {
  const found = Object.entries(cookiesOf(r)).find(([k, v]) => k.endsWith('cc_session') && v !== '');
  return found ? `${found[0]}=${found[1]}` : undefined;
}

const count = async (sql: string, params: unknown[] = []) => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

beforeAll(async () => {
  db = await freshDatabase();
  // the installation's first user (owner), and a colleague with a password, before any OIDC log-in
  ownerId = (await createUser(db.pool, 'owner@example.com', 'owner password 1')).id;
  daveId = (await createUser(db.pool, 'dave@example.com', 'dave password 1', 'member')).id;
  [opPort, appPort] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${opPort}`;
  app = await startServer({
    DATABASE_URL: db.url,
    SERVER_PORT: String(appPort),
    PUBLIC_URL: `http://127.0.0.1:${appPort}`,
    OIDC_ISSUER: issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_PROVIDER_NAME: 'TestID',
    OIDC_ALLOWED_DOMAINS: 'example.com',
    OIDC_DEFAULT_ROLE: 'viewer',
    PASSWORD_LOGIN: 'false',
  });
});

afterAll(async () => {
  await app?.stop();
  await new Promise((r) => (opServer ? opServer.close(r) : r(null)));
  await db?.drop();
});

describe('OIDC log-in', () => {
  it('starts while the provider is down, says so on the login page, and logs in once it is up', async () => {
    const page = await fetch(`${app.url}/login`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('Log in with TestID');
    expect(text).toMatch(/TestID cannot be reached right now/);
    const down = await fetch(`${app.url}/login/oidc`, { redirect: 'manual' });
    expect(down.status).toBe(502);
    expect(await down.text()).toMatch(/Cannot log in with TestID right now/);
    expect(app.logs.join('\n')).toMatch(/oidc discovery failed/);

    await startProvider();
    // discovery is retried on demand, at most every 2 s
    let started: Response | undefined;
    for (let i = 0; i < 40; i++) {
      started = await fetch(`${app.url}/login/oidc`, { redirect: 'manual' });
      if (started.status === 303) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(started!.status).toBe(303);
    expect(new URL(started!.headers.get('location')!).origin).toBe(issuer);
    const again = await (await fetch(`${app.url}/login`)).text();
    expect(again).not.toMatch(/cannot be reached/);
  });

  it('provisions a user with OIDC_DEFAULT_ROLE on first log-in, whose session works on /projects', async () => {
    const before = await count('ui_user');
    const { res } = await logInAs('alice-sub', '/projects?x=1');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/projects?x=1');
    const session = sessionCookie(res);
    expect(session).toBeDefined();
    const { rows } = await db.pool.query('SELECT id, email, role, password_hash, oidc_issuer, oidc_subject FROM ui_user WHERE email = $1', ['alice@example.com']);
    expect(rows[0]).toMatchObject({ role: 'viewer', password_hash: null, oidc_issuer: issuer, oidc_subject: 'alice-sub' });
    expect(await count('ui_user')).toBe(before + 1);
    const projects = await fetch(`${app.url}/projects`, { headers: { cookie: session! }, redirect: 'manual' });
    expect(projects.status).toBe(200);
    expect(await projects.text()).toContain('alice@example.com');
  });

  it('links a second log-in of the same account to the same user', async () => {
    const users = await count('ui_user');
    const { rows: [alice] } = await db.pool.query('SELECT id FROM ui_user WHERE oidc_subject = $1', ['alice-sub']);
    const { res } = await logInAs('alice-sub');
    expect(res.status).toBe(303);
    expect(sessionCookie(res)).toBeDefined();
    expect(await count('ui_user')).toBe(users);
    expect(await count('ui_session WHERE user_id = $1', [alice.id])).toBe(2);
  });

  it('links an existing user by verified e-mail on their first OIDC log-in, keeping their role', async () => {
    const users = await count('ui_user');
    const { res } = await logInAs('dave-sub');
    expect(res.status).toBe(303);
    const { rows } = await db.pool.query('SELECT id, role, oidc_subject FROM ui_user WHERE oidc_subject = $1', ['dave-sub']);
    expect(rows).toEqual([{ id: daveId, role: 'member', oidc_subject: 'dave-sub' }]);
    expect(await count('ui_user')).toBe(users);
    const page = await fetch(`${app.url}/projects`, { headers: { cookie: sessionCookie(res)! } });
    expect(await page.text()).toContain('dave@example.com');
  });

  it('refuses an account of a domain not in OIDC_ALLOWED_DOMAINS, making nothing', async () => {
    const [users, sessions] = [await count('ui_user'), await count('ui_session')];
    const { res } = await logInAs('bob-sub');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('Accounts of other.org may not log in here (OIDC_ALLOWED_DOMAINS).');
    expect(sessionCookie(res)).toBeUndefined();
    expect([await count('ui_user'), await count('ui_session')]).toEqual([users, sessions]);
  });

  it('refuses an account whose e-mail the provider marks unverified', async () => {
    const [users, sessions] = [await count('ui_user'), await count('ui_session')];
    const { res } = await logInAs('carol-sub');
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/carol@example.com is not verified/);
    expect(sessionCookie(res)).toBeUndefined();
    expect([await count('ui_user'), await count('ui_session')]).toEqual([users, sessions]);
  });

  it('shows a refusal at the provider (access_denied) as a 403 page', async () => {
    op.deny = true;
    try {
      const sessions = await count('ui_session');
      const { res, flow } = await logInAs('alice-sub');
      expect(flow.callback.searchParams.get('error')).toBe('access_denied');
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).toContain('TestID did not let you log in (access_denied).');
      expect(text).not.toContain('the user said no');
      expect(await count('ui_session')).toBe(sessions);
    } finally {
      op.deny = false;
    }
  });

  it('refuses a tampered state, an altered state cookie and a missing one: no session', async () => {
    const sessions = await count('ui_session');
    const flow = await throughProvider('alice-sub');
    const tampered = new URL(flow.callback);
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
    const r1 = await fetch(tampered, { redirect: 'manual', headers: { cookie: flow.stateCookie } });
    expect(r1.status).toBe(400);
    expect(await r1.text()).toMatch(/state mismatch/);
    expect(sessionCookie(r1)).toBeUndefined();
    // the cookie is cleared by that answer; an altered one (another next=) fails its signature
    expect(r1.headers.getSetCookie().some((c) => /cc_oidc=;/.test(c))).toBe(true);
    const [name, value] = flow.stateCookie.split('=');
    const [body, mac] = value!.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...payload, x: '/elsewhere' })).toString('base64url')}.${mac}`;
    const r2 = await fetch(flow.callback, { redirect: 'manual', headers: { cookie: `${name}=${forged}` } });
    expect(r2.status).toBe(400);
    expect(await r2.text()).toMatch(/expired or was not started in this browser/);
    const r3 = await fetch(flow.callback, { redirect: 'manual' });
    expect(r3.status).toBe(400);
    expect(await count('ui_session')).toBe(sessions);
    // the untouched pair still works (the code was not spent by the refusals above)
    const ok = await fetch(flow.callback, { redirect: 'manual', headers: { cookie: flow.stateCookie } });
    expect(ok.status).toBe(303);
  });

  it('answers 502 with the login page when the provider is down at the callback: no session, no user', async () => {
    const [users, sessions] = [await count('ui_user'), await count('ui_session')];
    const flow = await throughProvider('alice-sub');
    await new Promise((r) => {
      opServer.close(r);
      opServer.closeAllConnections();
    });
    try {
      const r = await fetch(flow.callback, { redirect: 'manual', headers: { cookie: flow.stateCookie } });
      expect(r.status).toBe(502);
      expect(await r.text()).toContain('TestID cannot be reached right now');
      expect(sessionCookie(r)).toBeUndefined();
    } finally {
      await new Promise<void>((r) => opServer.listen(opPort, '127.0.0.1', () => r()));
    }
    expect([await count('ui_user'), await count('ui_session')]).toEqual([users, sessions]);
    // and once it is back, the same callback completes
    const ok = await fetch(flow.callback, { redirect: 'manual', headers: { cookie: flow.stateCookie } });
    expect(ok.status).toBe(303);
  });

  it('keeps ?next= to local paths', async () => {
    const { res } = await logInAs('alice-sub', '//evil.example/x');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
  });

  it('with PASSWORD_LOGIN=false hides the password form and refuses password log-ins (403)', async () => {
    const page = await (await fetch(`${app.url}/login`)).text();
    expect(page).toContain('Log in with TestID');
    expect(page).not.toContain('name="password"');
    const r = await fetch(`${app.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'dave@example.com', password: 'dave password 1' }).toString(),
    });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('password log-in is turned off (PASSWORD_LOGIN=false)');
    expect(sessionCookie(r)).toBeUndefined();
  });

  it('logs out: ends the session and sends the browser to the provider\'s end_session_endpoint', async () => {
    const { res, flow } = await logInAs('alice-sub');
    const session = sessionCookie(res)!;
    const page = await (await fetch(`${app.url}/projects`, { headers: { cookie: session } })).text();
    const out = await fetch(`${app.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session },
      body: new URLSearchParams({ _csrf: hidden(page, '_csrf') }).toString(),
    });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().some((c) => /cc_session=;/.test(c))).toBe(true);
    const refresh = out.headers.get('refresh')!;
    const to = new URL(refresh.replace(/^0;url=/, ''));
    expect(`${to.origin}${to.pathname}`).toBe(`${issuer}/session/end`);
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`http://127.0.0.1:${appPort}/login`);
    expect(to.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(await out.text()).toContain('id="provider-logout"');
    // the local session is gone
    const after = await fetch(`${app.url}/projects`, { headers: { cookie: session }, redirect: 'manual' });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/login/);
    // the provider accepts the hint and the redirect URI: it asks to confirm (an unknown one would be a 400)
    const end = await flow.jar.fetch(to.href);
    expect(end.status).toBe(200);
    expect(await end.text()).toMatch(/sign-out/i);
  });

  it('makes the very first user of an installation the owner, and refuses a second account claiming a linked e-mail', async () => {
    const fresh = await freshDatabase();
    try {
      const first = await userForAccount(fresh.pool, issuer, 's1', 'first@example.com', 'viewer');
      expect([first.how, first.user.role]).toEqual(['created', 'owner']);
      const second = await userForAccount(fresh.pool, issuer, 's2', 'second@example.com', 'viewer');
      expect([second.how, second.user.role]).toEqual(['created', 'viewer']);
      expect((await userForAccount(fresh.pool, issuer, 's1', 'renamed@example.com', 'viewer')).user.id).toBe(first.user.id);
      await expect(userForAccount(fresh.pool, issuer, 's3', 'FIRST@example.com', 'viewer')).rejects.toThrow(OidcRefused);
      const { rows } = await fresh.pool.query('SELECT count(*)::int AS n FROM ui_user');
      expect(rows[0].n).toBe(2);
    } finally {
      await fresh.drop();
    }
  });

  it('leaves the owner made with a password alone', async () => {
    const { rows } = await db.pool.query('SELECT role, oidc_subject FROM ui_user WHERE id = $1', [ownerId]);
    expect(rows[0]).toEqual({ role: 'owner', oidc_subject: null });
    // every refusal above was an answer, none a crash
    expect(app.logs.join('\n')).not.toMatch(/unhandled error|unhandled promise/);
    expect(app.logs.join('\n')).not.toContain(CLIENT_SECRET);
  });
});

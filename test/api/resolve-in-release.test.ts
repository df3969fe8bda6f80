import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_SCOPES } from '../../src/auth/scopes.js';
import { createToken } from '../../src/api/tokens.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { NO_RATE_LIMITS } from '../helpers/app.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { until } from '../helpers/poll.js';
import { getPage, hidden, logIn, postForm } from '../ui/web.js';

// Resolved in a release, end to end: real events through ingest and the digest, the resolution set
// over the API (Sentry's statusDetails inNextRelease / inRelease, status resolvedInNextRelease) and
// the issue page. Events of the releases the issue already knew, or without a release, leave it
// resolved (and are counted); an event of the release named, or of one first seen after it, reopens
// it as a regression. ruminate keeps the resolution.

let db: TestDatabase;
let server: RunningServer;
let env: Record<string, string>;
let web: { id: number; key: string };
let token: string;
const PASSWORD = 'release-password';

type Issue = { id: string; status: string; substatus: string | null; statusDetails: Record<string, unknown>; count: string; activity?: { type: string; data: Record<string, unknown> }[] };

beforeAll(async () => {
  db = await freshDatabase();
  env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' };
  const a = await createProject(db.pool, { name: 'web' });
  web = { id: a.project.id, key: a.key.public_key };
  const u = await createUser(db.pool, 'owner@example.com', PASSWORD, 'owner');
  token = (await createToken(db.pool, 'owner', { scopes: ROLE_SCOPES.owner, userId: u.id })).token;
  server = await startServer({ ...env, ...NO_RATE_LIMITS });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const api = (path: string, init: RequestInit = {}) => fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
const detail = async (id: string) => (await (await api(`/api/0/issues/${id}/`)).json()) as Issue;
async function put(id: string, body: unknown, status = 200): Promise<Record<string, unknown>> {
  const r = await api(`/api/0/issues/${id}/`, { method: 'PUT', body: JSON.stringify(body) });
  expect(r.status, await r.clone().text()).toBe(status);
  return (await r.json()) as Record<string, unknown>;
}

/** Sends an event of `message` (and `release`, if any) through ingest; waits until its issue counts it. Returns the issue. */
async function send(message: string, release?: string): Promise<Issue> {
  const eventId = randomUUID().replaceAll('-', '');
  const r = await fetch(`${server.url}/api/${web.id}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_key=${web.key}, sentry_version=7` },
    body: JSON.stringify({ event_id: eventId, message, level: 'error', platform: 'python', fingerprint: [message], ...(release ? { release } : {}) }),
  });
  expect(r.status).toBe(200);
  const ev = await until(`event ${eventId}`, () => api(`/api/0/projects/acme/web/events/${eventId}/`), (x) => x.status === 200);
  const { groupID } = (await ev.json()) as { groupID: string };
  const counted = (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM report WHERE issue_id = $1", [groupID])).rows[0]!.n;
  return until(`issue ${groupID} counts ${counted}`, () => detail(groupID), (i) => Number(i.count) >= counted);
}

const ids: Record<string, string> = {};

describe('resolved in the next release', () => {
  it('stays resolved for events of releases it knew and events without one; a new release reopens it', async () => {
    ids.alpha = (await send('alpha', '1.0')).id;
    const r = await put(ids.alpha, { statusDetails: { inNextRelease: true } });
    expect(r).toMatchObject({ status: 'resolved', statusDetails: { inNextRelease: true } });
    let d = await detail(ids.alpha);
    expect(d).toMatchObject({ status: 'resolved', statusDetails: { inNextRelease: true, actor: null } });
    expect(d.activity![0]).toMatchObject({ type: 'set_resolved_in_release', data: { version: '' } });

    d = await send('alpha', '1.0');
    expect(d).toMatchObject({ status: 'resolved', count: '2' });
    d = await send('alpha');
    expect(d).toMatchObject({ status: 'resolved', count: '3' });
    d = await send('alpha', '1.1');
    expect(d).toMatchObject({ status: 'unresolved', substatus: 'regressed', statusDetails: {}, count: '4' });
    expect(d.activity![0]!.type).toBe('set_regression');
  });

  it('status resolvedInNextRelease is the same; a plain resolve still reopens on any event', async () => {
    ids.beta = (await send('beta', '1.1')).id;
    await put(ids.beta, { status: 'resolvedInNextRelease' });
    expect((await send('beta', '1.0')).status).toBe('resolved');
    await put(ids.beta, { status: 'resolved' });
    expect((await detail(ids.beta)).statusDetails).toEqual({});
    expect(await send('beta', '1.0')).toMatchObject({ status: 'unresolved', substatus: 'regressed' });
  });
});

describe('resolved in a named release', () => {
  it('a release not seen yet: earlier releases stay resolved, that one reopens it', async () => {
    ids.gamma = (await send('gamma', '1.1')).id;
    const r = await put(ids.gamma, { status: 'resolved', statusDetails: { inRelease: '2.0' } });
    expect(r.statusDetails).toEqual({ inRelease: '2.0' });
    const d = await detail(ids.gamma);
    expect(d.statusDetails).toEqual({ inRelease: '2.0', actor: null });
    expect(d.activity![0]).toMatchObject({ type: 'set_resolved_in_release', data: { version: '2.0' } });
    expect((await send('gamma', '1.1')).status).toBe('resolved');
    expect((await send('gamma', '1.0')).status).toBe('resolved');
    expect(await send('gamma', '2.0')).toMatchObject({ status: 'unresolved', substatus: 'regressed' });
  });

  it('"latest": the newest release, whose events reopen it', async () => {
    ids.delta = (await send('delta', '1.0')).id;
    await put(ids.delta, { statusDetails: { inRelease: 'latest' } });
    expect((await detail(ids.delta)).statusDetails).toEqual({ inRelease: '2.0', actor: null });
    expect((await send('delta', '1.1')).status).toBe('resolved');
    expect((await send('delta', '2.0')).status).toBe('unresolved');
  });

  it('refuses malformed statusDetails with a 400 naming them, changing nothing', async () => {
    ids.eps = (await send('eps', '1.0')).id;
    for (const statusDetails of [{ inRelease: 12 }, { inRelease: '' }, { inRelease: 'x'.repeat(201) }, { inNextRelease: 'yes' }]) {
      const r = await api(`/api/0/issues/${ids.eps}/`, { method: 'PUT', body: JSON.stringify({ status: 'resolved', statusDetails }) });
      expect(r.status).toBe(400);
      expect((await r.json()).detail).toMatch(/statusDetails\.in(Next)?Release must be/);
    }
    expect((await detail(ids.eps)).status).toBe('unresolved');
  });
});

describe('the issue page and ruminate', () => {
  it('"Resolve in next release" on the page, shown with the release it follows', async () => {
    const cookie = await logIn(server, 'owner@example.com', PASSWORD);
    const page = await getPage(server, `/issues/${ids.eps}`, cookie);
    expect(page).toContain('Resolve in next release');
    const r = await postForm(server, `/issues/${ids.eps}/status`, { _csrf: hidden(page, '_csrf'), status: 'resolved', in: 'next' }, cookie);
    expect(r.status).toBe(303);
    const after = await getPage(server, `/issues/${ids.eps}`, cookie);
    expect(after).toMatch(/<span id="resolved-in"> in the release after 2\.0<\/span>/);
    expect(after).toContain('resolved this issue in the next release');
    expect((await postForm(server, `/issues/${ids.eps}/status`, { _csrf: hidden(page, '_csrf'), status: 'resolved', in: 'later' }, cookie)).status).toBe(400);
  });

  it('ruminate keeps the resolution and its release order', async () => {
    await cli(['ruminate', '--yes'], env);
    const d = await until('issues rebuilt', () => detail(ids.eps!), (i) => Number(i.count) > 0);
    expect(d).toMatchObject({ status: 'resolved', statusDetails: { inNextRelease: true } });
    expect((await send('eps', '2.0')).status).toBe('resolved');
    expect(await send('eps', '3.0')).toMatchObject({ status: 'unresolved', substatus: 'regressed' });
  });
});

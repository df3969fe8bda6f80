import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { UNDIGESTED_SQL } from '../helpers/db.js';
import { cli } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { createToken } from '../../src/api/tokens.js';
import { createUser } from '../../src/ui/users.js';
import { SCOPES } from '../../src/auth/scopes.js';
import { DIGEST_LOCK } from '../../src/digest/batch.js';

// Merge and unmerge over HTTP, with real events through ingest and the server's digest: counts,
// users, tags and times combine; later events of both fingerprints land in the merged issue; an
// unmerge takes one fingerprint's events back out; refused merges change nothing; ruminate keeps
// the merge; a merge waits for a digest batch in flight and never lets one make a fresh issue.

let app: TestApp;
let token: string;
let viewerToken: string;
let otherKey: string;
let otherProjectId: number;
const T0 = Math.floor(Date.now() / 1000) - 3600;

type Issue = { id: string; count: string; userCount: number; firstSeen: string; lastSeen: string; title: string };

beforeAll(async () => {
  app = await startApp('web', { ORGANIZATION_SLUG: 'acme', WORKER_BATCH_SIZE: '5' });
  const other = await createProject(app.db.pool, { name: 'batch' });
  otherProjectId = other.project.id;
  otherKey = other.key.public_key;
  token = (await createToken(app.db.pool, 'admin')).token;
  await createUser(app.db.pool, 'owner@example.com', 'a long enough password', 'owner');
  const viewer = await createUser(app.db.pool, 'viewer@example.com', 'a long enough password', 'viewer');
  viewerToken = (await createToken(app.db.pool, 'viewer', { scopes: [...SCOPES], userId: viewer.id })).token;
}, 120_000);
afterAll(async () => {
  await app?.close();
});

async function send(fp: string, n: { ts: number; user?: string; tag?: string; projectId?: number; key?: string }): Promise<string> {
  const id = randomUUID().replace(/-/g, '');
  const pid = n.projectId ?? app.projectId;
  const r = await fetch(`${app.server.url}/api/${pid}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': `Sentry sentry_key=${n.key ?? app.key}, sentry_version=7`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: id, timestamp: n.ts, platform: 'python', level: 'error', message: `${fp} happened`, fingerprint: [fp],
      ...(n.user ? { user: { id: n.user } } : {}), tags: { shard: n.tag ?? fp } }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  return id;
}

async function digested(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await app.db.pool.query(UNDIGESTED_SQL)).rows[0].n > 0) {
    if (Date.now() > deadline) throw new Error('the digest did not finish');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(path: string, init: RequestInit = {}, tok = token): Promise<Response> {
  return fetch(app.server.url + path, { ...init, headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}
const issue = async (id: string | number) => (await (await api(`/api/0/issues/${id}/`)).json()) as Issue;
const issueIdOf = async (eventId: string) => String((await app.db.pool.query('SELECT issue_id FROM report WHERE event_id = $1', [eventId])).rows[0].issue_id);
const eventsOf = async (id: string | number) => (await app.db.pool.query<{ e: string }>(`SELECT replace(event_id::text, '-', '') AS e FROM report WHERE issue_id = $1 ORDER BY 1`, [id])).rows.map((r) => r.e);
const tagsOf = async (id: string | number) => Object.fromEntries(((await (await api(`/api/0/issues/${id}/tags/shard/values/`)).json()) as { value: string; count: number }[]).map((v) => [v.value, v.count]));
const hashOf = async (id: string | number) => ((await (await api(`/api/0/issues/${id}/hashes/`)).json()) as { id: string }[]).map((h) => h.id);
const snapshot = async () => (await app.db.pool.query('SELECT id, event_count, user_count, first_seen, last_seen FROM issue ORDER BY id')).rows;
const merge = (ids: (string | number)[], tok = token, base = '/api/0/projects/acme/web/issues/') =>
  api(`${base}?${ids.map((i) => `id=${i}`).join('&')}`, { method: 'PUT', body: JSON.stringify({ merge: 1 }) }, tok);

describe('merge and unmerge', () => {
  const a: string[] = [], b: string[] = [];
  let A = '', B = '', hashA = '', hashB = '';

  it('merges two issues: counts, users, tags and times combine; the child is gone', async () => {
    a.push(await send('fp-a', { ts: T0, user: 'u1' }), await send('fp-a', { ts: T0 + 10, user: 'u2' }), await send('fp-a', { ts: T0 + 20, user: 'u1' }));
    b.push(await send('fp-b', { ts: T0 - 100, user: 'u2' }), await send('fp-b', { ts: T0 + 100, user: 'u3' }));
    await digested();
    A = await issueIdOf(a[0]!);
    B = await issueIdOf(b[0]!);
    expect(A).not.toBe(B);
    [hashA] = await hashOf(A);
    [hashB] = await hashOf(B);

    // refused: a viewer's token, a single issue, issues of two projects — nothing changes
    const before = await snapshot();
    const denied = await merge([A, B], viewerToken);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { detail: string }).detail).toContain('event:write');
    expect((await merge([A])).status).toBe(400);
    const foreign = await send('fp-c', { ts: T0, projectId: otherProjectId, key: otherKey });
    await digested();
    const C = await issueIdOf(foreign);
    const cross = await merge([A, C], token, '/api/0/organizations/acme/issues/');
    expect(cross.status).toBe(400);
    expect(((await cross.json()) as { detail: string }).detail).toBe('Merging across multiple projects is not supported');
    // the project's route does not see the other project's issue: one issue left, refused too
    expect((await merge([A, C])).status).toBe(400);
    const after = await snapshot();
    expect(after.filter((r) => String(r.id) !== C)).toEqual(before);

    expect((await api('/api/0/projects/acme/web/issues/?query=is:unresolved', { method: 'PUT', body: JSON.stringify({ merge: 1 }) })).status).toBe(400);
    // events digested before report.primary_hash existed have none: the merge fills in the child's (unmerge reads it)
    await app.db.pool.query('UPDATE report SET primary_hash = NULL');
    const r = await merge([B, A]);
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toEqual({ merge: { parent: A, children: [B] } });
    const p = await issue(A);
    expect(p).toMatchObject({ count: '5', userCount: 3, firstSeen: new Date((T0 - 100) * 1000).toISOString(), lastSeen: new Date((T0 + 100) * 1000).toISOString() });
    expect((await api(`/api/0/issues/${B}/`)).status).toBe(404);
    expect(await eventsOf(A)).toEqual([...a, ...b].sort());
    expect(await tagsOf(A)).toEqual({ 'fp-a': 3, 'fp-b': 2 });
    expect((await hashOf(A)).sort()).toEqual([hashA, hashB].sort());
    const { rows: act } = await app.db.pool.query('SELECT issue_id, type, data FROM issue_activity ORDER BY id');
    expect(act).toEqual([{ issue_id: A, type: 'merge', data: { issues: [{ id: B }] } }]);
    for (const t of ['issue_tag', 'issue_user', 'issue_hash']) expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM ${t} WHERE issue_id = $1`, [B])).rows[0].n).toBe(0);
  });

  it('files new events of both fingerprints in the merged issue', async () => {
    a.push(await send('fp-a', { ts: T0 + 30, user: 'u4' }));
    b.push(await send('fp-b', { ts: T0 + 40, user: 'u3' }));
    await digested();
    expect(await issueIdOf(a.at(-1)!)).toBe(A);
    expect(await issueIdOf(b.at(-1)!)).toBe(A);
    expect(await issue(A)).toMatchObject({ count: '7', userCount: 4 });
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM issue WHERE project_id = $1', [app.projectId])).rows[0].n).toBe(1);
  });

  it('unmerges a fingerprint into a new issue with exactly its events', async () => {
    expect((await api(`/api/0/issues/${A}/hashes/?id=${hashA}`, { method: 'DELETE' })).status).toBe(400); // its own primary hash stays
    expect((await api(`/api/0/issues/${A}/hashes/?id=${'0'.repeat(32)}`, { method: 'DELETE' })).status).toBe(400);
    expect((await api(`/api/0/issues/${A}/hashes/?id=${hashB}`, { method: 'DELETE' }, viewerToken)).status).toBe(403);
    const r = await api(`/api/0/issues/${A}/hashes/?id=${hashB}`, { method: 'DELETE' });
    expect(r.status, await r.clone().text()).toBe(202);
    const { destination } = (await r.json()) as { destination: string };
    expect(await eventsOf(destination)).toEqual([...b].sort());
    expect(await eventsOf(A)).toEqual([...a].sort());
    expect(await issue(destination)).toMatchObject({ count: '3', userCount: 2, title: 'fp-b happened',
      firstSeen: new Date((T0 - 100) * 1000).toISOString(), lastSeen: new Date((T0 + 100) * 1000).toISOString() });
    // u2 stays on A (one of its own events has them); fp-b's tag leaves with its events
    expect(await issue(A)).toMatchObject({ count: '4', userCount: 3, firstSeen: new Date(T0 * 1000).toISOString(), lastSeen: new Date((T0 + 30) * 1000).toISOString() });
    expect(await tagsOf(A)).toEqual({ 'fp-a': 4 });
    expect(await tagsOf(destination)).toEqual({ 'fp-b': 3 });
    expect(await hashOf(A)).toEqual([hashA]);
    expect(await hashOf(destination)).toEqual([hashB]);
    const { rows: act } = await app.db.pool.query("SELECT issue_id, type, data FROM issue_activity WHERE type LIKE 'unmerge%' ORDER BY id");
    expect(act).toEqual([
      { issue_id: A, type: 'unmerge_source', data: { fingerprints: [hashB], destination_id: destination } },
      { issue_id: destination, type: 'unmerge_destination', data: { fingerprints: [hashB], source_id: A } },
    ]);
    // and the fingerprint's next event goes to the new issue
    b.push(await send('fp-b', { ts: T0 + 50, user: 'u5' }));
    await digested();
    expect(await issueIdOf(b.at(-1)!)).toBe(destination);
    B = destination;
  });

  it('keeps a merge through ruminate', async () => {
    const r = await merge([A, B]);
    expect(r.status).toBe(200);
    const { parent } = ((await r.json()) as { merge: { parent: string } }).merge;
    const merged = await issue(parent);
    expect(merged.count).toBe(String(a.length + b.length));
    await cli(['ruminate', '--yes'], { DATABASE_URL: app.db.url });
    await digested();
    expect((await app.db.pool.query('SELECT id FROM issue WHERE project_id = $1', [app.projectId])).rows).toEqual([{ id: parent }]);
    expect(await eventsOf(parent)).toEqual([...a, ...b].sort());
    expect(await issue(parent)).toMatchObject({ count: merged.count, userCount: merged.userCount, firstSeen: merged.firstSeen, lastSeen: merged.lastSeen });
    a.push(await send('fp-a', { ts: T0 + 60 }));
    b.push(await send('fp-b', { ts: T0 + 60 }));
    await digested();
    expect(await issueIdOf(a.at(-1)!)).toBe(parent);
    expect(await issueIdOf(b.at(-1)!)).toBe(parent);
  }, 120_000);

  it('waits for a digest batch in flight, and no event of a merged fingerprint makes a fresh issue meanwhile', async () => {
    const x = [await send('fp-x', { ts: T0 })];
    const y = [await send('fp-y', { ts: T0 })];
    await digested();
    const X = await issueIdOf(x[0]!), Y = await issueIdOf(y[0]!);
    // a batch in flight holds the digest lock shared: the merge waits for it
    const batch = new pg.Client({ connectionString: app.db.url });
    await batch.connect();
    await batch.query('BEGIN');
    await batch.query('SELECT pg_advisory_xact_lock_shared($1)', [DIGEST_LOCK]);
    const pending = merge([X, Y]);
    const waiting = async () => (await app.db.pool.query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND mode = 'ExclusiveLock'")).rows[0].n as number;
    for (const deadline = Date.now() + 30_000; (await waiting()) === 0;) {
      if (Date.now() > deadline) throw new Error('the merge never waited for the digest lock');
      await new Promise((r) => setTimeout(r, 50));
    }
    // events of both fingerprints arrive while the merge waits, and keep coming after it
    const sending = (async () => {
      for (let i = 1; i <= 15; i++) {
        x.push(await send('fp-x', { ts: T0 + i }));
        y.push(await send('fp-y', { ts: T0 + i }));
      }
    })();
    // the digest's next batch queues behind the waiting merge: nothing is digested until it is done
    const queued = async () => (await app.db.pool.query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND mode = 'ShareLock'")).rows[0].n as number;
    for (const deadline = Date.now() + 30_000; (await queued()) === 0;) {
      if (Date.now() > deadline) throw new Error('no digest batch came to wait behind the merge');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await eventsOf(Y)).toEqual(y.slice(0, 1));
    await batch.query('COMMIT');
    await batch.end();
    const r = await pending;
    expect(r.status, await r.clone().text()).toBe(200);
    await sending;
    await digested();
    const { parent } = ((await r.json()) as { merge: { parent: string } }).merge;
    expect(await eventsOf(parent)).toEqual([...x, ...y].sort());
    expect((await issue(parent)).count).toBe(String(x.length + y.length));
    const orphans = await app.db.pool.query('SELECT count(*)::int AS n FROM report r WHERE NOT EXISTS (SELECT 1 FROM issue i WHERE i.project_id = r.project_id AND i.id = r.issue_id)');
    expect(orphans.rows[0].n).toBe(0);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM issue WHERE project_id = $1', [app.projectId])).rows[0].n).toBe(2);
  }, 120_000);

  it('moves the children\'s comments, history, bookmarks and subscriptions to the parent, and their assignee when it has none', async () => {
    const owner = (await app.db.pool.query<{ id: number }>("SELECT id FROM ui_user WHERE email = 'owner@example.com'")).rows[0]!.id;
    const ownerToken = (await createToken(app.db.pool, 'owner', { userId: owner })).token;
    const c = [await send('fp-c', { ts: T0 }), await send('fp-c', { ts: T0 + 1 })];
    const d = await send('fp-d', { ts: T0 + 2 });
    await digested();
    const [C, D] = [await issueIdOf(c[0]!), await issueIdOf(d)];
    expect((await api(`/api/0/issues/${D}/comments/`, { method: 'POST', body: JSON.stringify({ text: 'seen on D' }) }, ownerToken)).status).toBe(201);
    expect((await api(`/api/0/issues/${D}/`, { method: 'PUT', body: JSON.stringify({ assignedTo: 'owner@example.com', isBookmarked: true, isSubscribed: false }) }, ownerToken)).status).toBe(200);
    const r = await merge([C, D], ownerToken);
    expect(((await r.json()) as { merge: { parent: string } }).merge.parent).toBe(C);
    const j = (await (await api(`/api/0/issues/${C}/`, {}, ownerToken)).json()) as { numComments: number; isBookmarked: boolean; isSubscribed: boolean; assignedTo: { email: string } | null; activity: { type: string; data: { text?: string } }[] };
    expect(j.numComments).toBe(1);
    expect(j.isBookmarked).toBe(true);
    // the choice not to hear of D's comments holds for the merged issue (a participant otherwise)
    expect(j.isSubscribed).toBe(false);
    expect(j.assignedTo?.email).toBe('owner@example.com');
    const types = j.activity.map((x) => x.type);
    expect(types).toEqual(expect.arrayContaining(['merge', 'note', 'assigned']));
    expect(j.activity.find((x) => x.type === 'note')?.data.text).toBe('seen on D');
    for (const t of ['issue_activity', 'issue_assignee', 'issue_bookmark', 'issue_subscription']) expect((await app.db.pool.query(`SELECT 1 FROM ${t} WHERE issue_id = $1`, [D])).rowCount).toBe(0);
  });
});

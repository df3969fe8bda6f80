import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_SCOPES, type Role } from '../../src/auth/scopes.js';
import { createToken } from '../../src/api/tokens.js';
import { wakeSnoozedIssues } from '../../src/digest/snooze.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { NO_RATE_LIMITS } from '../helpers/app.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { getPage, hidden, logIn, postForm } from '../ui/web.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeShared } from '../helpers/shared.js';
import { until } from '../helpers/poll.js';

// Issue collaboration end to end: real events through ingest and the digest, then assignees,
// comments, bookmarks and the activity log over the API and the web UI, as users of each role;
// a regression the digest finds; ruminate keeping people's work; deleting an issue deleting it.

let db: TestDatabase;
let server: RunningServer;
let env: Record<string, string>;
let web: { id: number; key: string };
let other: { id: number; key: string };
const users: Record<string, { id: number; email: string; token: string }> = {};
let hostToken: string; // made with the CLI: belongs to no user
const PASSWORD = 'collab-password';
const COMMENT_MAX = 200;

type Activity = { id: string; type: string; data: Record<string, unknown>; dateCreated: string; user: { id: string; email: string } | null };
type Issue = { id: string; title: string; status: string; substatus: string | null; assignedTo: { type: string; id: string; name: string; email: string } | null; isBookmarked: boolean; numComments: number; activity?: Activity[] };

beforeAll(async () => {
  db = await freshDatabase();
  env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme', COMMENT_MAX_CHARS: String(COMMENT_MAX) };
  const a = await createProject(db.pool, { name: 'web' });
  const b = await createProject(db.pool, { name: 'other' });
  web = { id: a.project.id, key: a.key.public_key };
  other = { id: b.project.id, key: b.key.public_key };
  const make = async (name: string, role: Role) => {
    const u = await createUser(db.pool, `${name}@example.com`, PASSWORD, role);
    const { token } = await createToken(db.pool, name, { scopes: ROLE_SCOPES[role], userId: u.id });
    users[name] = { id: Number(u.id), email: u.email, token };
  };
  await make('owner', 'owner');
  await make('admin', 'admin');
  await make('member', 'member');
  await make('mate', 'member');
  await make('viewer', 'viewer');
  await make('outsider', 'member'); // a member of `other` only
  await db.pool.query('UPDATE ui_user SET all_projects = false WHERE id = $1', [users.outsider!.id]);
  await db.pool.query('INSERT INTO project_member (project_id, user_id) VALUES ($1, $2)', [other.id, users.outsider!.id]);
  hostToken = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create'], env))![1]!;
  server = await startServer({ ...env, ...NO_RATE_LIMITS });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

function api(who: string, path: string, init: RequestInit = {}): Promise<Response> {
  const token = who === 'host' ? hostToken : users[who]!.token;
  return fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}
async function json<T>(r: Response, status = 200): Promise<T> {
  expect(r.status, await r.clone().text()).toBe(status);
  return (await r.json()) as T;
}
const put = (who: string, path: string, body: unknown) => api(who, path, { method: 'PUT', body: JSON.stringify(body) });
const detail = async (who: string, id: string) => json<Issue>(await api(who, `/api/0/issues/${id}/`));
const search = async (who: string, query: string, project = 'web') =>
  (await json<Issue[]>(await api(who, `/api/0/projects/acme/${project}/issues/?query=${encodeURIComponent(query)}`))).map((i) => i.title).sort();

/** Sends an event through ingest (the store endpoint) and waits until the digest has counted it. */
async function sendEvent(project: { id: number; key: string }, message: string): Promise<Issue> {
  const eventId = randomUUID().replaceAll('-', '');
  const r = await fetch(`${server.url}/api/${project.id}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_key=${project.key}, sentry_version=7` },
    body: JSON.stringify({ event_id: eventId, message, level: 'error', platform: 'python', fingerprint: [message] }),
  });
  expect(r.status).toBe(200);
  const ev = await until(`event ${eventId}`, async () => api('owner', `/api/0/projects/acme/${project.id === web.id ? 'web' : 'other'}/events/${eventId}/`), (x) => x.status === 200);
  const { groupID } = (await ev.json()) as { groupID: string };
  return until(`issue ${groupID} counted`, () => detail('owner', groupID), (i) => Number((i as unknown as { count: string }).count) > 0);
}

const ids: Record<string, string> = {};

describe('issues made by the digest from real events', () => {
  it('start unassigned, unbookmarked, uncommented, with no activity', async () => {
    for (const t of ['alpha', 'beta', 'gamma']) ids[t] = (await sendEvent(web, t)).id;
    ids.elsewhere = (await sendEvent(other, 'elsewhere')).id;
    const d = await detail('owner', ids.alpha!);
    expect(d).toMatchObject({ assignedTo: null, isBookmarked: false, numComments: 0, activity: [] });
    expect(await search('owner', 'is:unassigned')).toEqual(['alpha', 'beta', 'gamma']);
    expect(await search('owner', 'is:assigned')).toEqual([]);
  });
});

describe('assignees', () => {
  it('assigns by e-mail and by user:ID, answers Sentry’s assignedTo, and logs who did it', async () => {
    const r = await json<Issue>(await put('owner', `/api/0/issues/${ids.alpha}/`, { assignedTo: 'MEMBER@example.com' }));
    expect(r.assignedTo).toEqual({ type: 'user', id: String(users.member!.id), name: 'member@example.com', email: 'member@example.com' });
    const d = await detail('viewer', ids.alpha!);
    expect(d.assignedTo?.email).toBe('member@example.com');
    expect(d.activity).toHaveLength(1);
    expect(d.activity![0]).toMatchObject({ type: 'assigned', data: { assignee: String(users.member!.id), assigneeEmail: 'member@example.com', assigneeType: 'user' }, user: { id: String(users.owner!.id), email: 'owner@example.com' } });
    expect(Date.parse(d.activity![0]!.dateCreated)).toBeGreaterThan(Date.now() - 60_000);
    // user:ID, by a member, to themself
    const again = await json<Issue>(await put('mate', `/api/0/issues/${ids.beta}/`, { assignedTo: `user:${users.mate!.id}` }));
    expect(again.assignedTo?.email).toBe('mate@example.com');
    // assigning the same user again is no change: no second entry
    await json(await put('mate', `/api/0/issues/${ids.beta}/`, { assignedTo: `user:${users.mate!.id}` }));
    expect((await detail('owner', ids.beta!)).activity!.map((a) => a.type)).toEqual(['assigned']);
  });

  it('refuses assignees who cannot see the project, unknown users, teams and viewers, changing nothing', async () => {
    const before = await detail('owner', ids.gamma!);
    const cases: [string, unknown, number, RegExp][] = [
      ['owner', 'outsider@example.com', 400, /outsider@example\.com cannot see project web/],
      ['owner', 'nobody@example.com', 400, /no user "nobody@example\.com"/],
      ['owner', 'team:1', 400, /no teams/],
      ['owner', 'user:abc', 400, /user:<numeric id>/],
      ['owner', 42, 400, /assignedTo must be/],
      ['viewer', 'viewer@example.com', 403, /event:write/],
    ];
    for (const [who, value, status, detailRe] of cases) {
      // with a status change in the same body: it must not happen either
      const r = await put(who, `/api/0/issues/${ids.gamma}/`, { status: 'resolved', assignedTo: value });
      expect(r.status, `${who} ${String(value)}`).toBe(status);
      expect(((await r.json()) as { detail: string }).detail).toMatch(detailRe);
    }
    const after = await detail('owner', ids.gamma!);
    expect(after).toMatchObject({ status: before.status, assignedTo: null, activity: [] });
    // the outsider can be assigned an issue of the project they are a member of
    const r = await json<Issue>(await put('owner', `/api/0/issues/${ids.elsewhere}/`, { assignedTo: 'outsider@example.com' }));
    expect(r.assignedTo?.email).toBe('outsider@example.com');
  });

  it('bulk-assigns and unassigns with PUT …/issues/?id=…, an entry per issue', async () => {
    const r = await json<{ assignedTo: { email: string } }>(await put('admin', `/api/0/projects/acme/web/issues/?id=${ids.alpha}&id=${ids.gamma}`, { assignedTo: 'mate@example.com' }));
    expect(r.assignedTo.email).toBe('mate@example.com');
    expect((await detail('owner', ids.gamma!)).assignedTo?.email).toBe('mate@example.com');
    const alpha = await detail('owner', ids.alpha!);
    expect(alpha.activity!.map((a) => [a.type, a.data.assigneeEmail ?? null, a.user?.email])).toEqual([
      ['assigned', 'mate@example.com', 'admin@example.com'],
      ['assigned', 'member@example.com', 'owner@example.com'],
    ]);
    const un = await json<{ assignedTo: null }>(await put('admin', `/api/0/projects/acme/web/issues/?id=${ids.gamma}`, { assignedTo: '' }));
    expect(un.assignedTo).toBeNull();
    const g = await detail('owner', ids.gamma!);
    expect(g.assignedTo).toBeNull();
    expect(g.activity!.map((a) => a.type)).toEqual(['unassigned', 'assigned']);
    // an org-wide bulk assignment touching a project the assignee cannot see is refused whole
    const refused = await put('owner', `/api/0/organizations/acme/issues/?id=${ids.gamma}&id=${ids.elsewhere}`, { assignedTo: 'member@example.com' });
    expect(refused.status).toBe(200); // member sees every project
    const no = await put('owner', `/api/0/organizations/acme/issues/?id=${ids.gamma}&id=${ids.elsewhere}`, { assignedTo: 'outsider@example.com' });
    expect(no.status).toBe(400);
    expect((await detail('owner', ids.gamma!)).assignedTo?.email).toBe('member@example.com');
    expect((await detail('owner', ids.elsewhere!)).assignedTo?.email).toBe('member@example.com');
    await json(await put('owner', `/api/0/projects/acme/web/issues/?id=${ids.gamma}`, { assignedTo: '' }));
  });

  it('filters assigned:me, assigned:<email>, is:assigned, is:unassigned in the API (and assigned:me needs a user)', async () => {
    // alpha → mate, beta → mate, gamma → nobody
    expect(await search('mate', 'assigned:me')).toEqual(['alpha', 'beta']);
    expect(await search('member', 'assigned:me')).toEqual([]);
    expect(await search('owner', 'assigned:mate@example.com')).toEqual(['alpha', 'beta']);
    expect(await search('owner', 'assigned:[me,mate@example.com]')).toEqual(['alpha', 'beta']);
    expect(await search('owner', 'is:assigned')).toEqual(['alpha', 'beta']);
    expect(await search('owner', 'is:unassigned')).toEqual(['gamma']);
    expect(await search('owner', '!assigned:mate@example.com')).toEqual(['gamma']);
    expect(await search('owner', 'assigned:none')).toEqual(['gamma']);
    const r = await api('host', `/api/0/projects/acme/web/issues/?query=${encodeURIComponent('assigned:me')}`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/assigned:me needs a user/);
    expect(await search('host', 'assigned:mate@example.com')).toEqual(['alpha', 'beta']);
    expect((await api('owner', `/api/0/projects/acme/web/issues/?query=${encodeURIComponent('assigned:#team')}`)).status).toBe(400);
    // words of the is: vocabulary are looked up as own keys only
    expect((await api('owner', `/api/0/projects/acme/web/issues/?query=${encodeURIComponent('is:constructor')}`)).status).toBe(400);
    expect((await api('owner', `/api/0/projects/acme/web/issues/?query=${encodeURIComponent('is:__proto__')}`)).status).toBe(400);
    // the list serializes assignedTo too
    const l = await json<Issue[]>(await api('owner', '/api/0/projects/acme/web/issues/?query=assigned:me'));
    expect(l).toEqual([]);
    const m = await json<Issue[]>(await api('mate', '/api/0/projects/acme/web/issues/?query=assigned:me'));
    expect(m.map((i) => i.assignedTo?.email)).toEqual(['mate@example.com', 'mate@example.com']);
  });
});

describeShared('sentry-openapi', 'Sentry’s issue schema', (dir) => {
  it('assignedTo of an assigned issue has the fields and type Sentry’s schema requires', async () => {
    type Schema = { properties: Record<string, { properties?: Record<string, { enum?: string[] }>; required?: string[]; nullable?: boolean }> };
    const doc = JSON.parse(readFileSync(join(dir, 'openapi-derefed.json'), 'utf8')) as { paths: Record<string, { get: { responses: { 200: { content: { 'application/json': { schema: Schema } } } } } }> };
    const schema = doc.paths['/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/']!.get.responses[200].content['application/json'].schema;
    const a = schema.properties.assignedTo!;
    expect(a.nullable).toBe(true);
    const d = (await detail('owner', ids.alpha!)) as unknown as Record<string, Record<string, unknown>>;
    for (const k of a.required!) expect(typeof d.assignedTo![k], k).toBe('string');
    expect(a.properties!.type!.enum).toContain(d.assignedTo!.type);
    for (const k of ['isBookmarked', 'numComments', 'activity']) expect(Object.keys(schema.properties)).toContain(k);
  });
});

describe('bookmarks', () => {
  it('are per user: isBookmarked for the asking user, bookmarks:me and is:bookmarked', async () => {
    const r = await json<Issue>(await put('member', `/api/0/issues/${ids.beta}/`, { isBookmarked: true }));
    expect(r.isBookmarked).toBe(true);
    expect((await detail('member', ids.beta!)).isBookmarked).toBe(true);
    expect((await detail('mate', ids.beta!)).isBookmarked).toBe(false);
    expect(await search('member', 'is:bookmarked')).toEqual(['beta']);
    expect(await search('member', 'bookmarks:me')).toEqual(['beta']);
    expect(await search('mate', 'is:bookmarked')).toEqual([]);
    expect(await search('owner', 'bookmarks:member@example.com')).toEqual(['beta']);
    await json(await put('mate', `/api/0/projects/acme/web/issues/?id=${ids.alpha}&id=${ids.beta}`, { isBookmarked: 'true' }));
    expect(await search('mate', 'is:bookmarked')).toEqual(['alpha', 'beta']);
    await json(await put('mate', `/api/0/issues/${ids.alpha}/`, { isBookmarked: false }));
    expect(await search('mate', 'is:bookmarked')).toEqual(['beta']);
    // not logged as activity, refused without a user, for viewers and for nonsense
    expect((await detail('owner', ids.beta!)).activity!.map((a) => a.type)).toEqual(['assigned']);
    expect((await put('host', `/api/0/issues/${ids.beta}/`, { isBookmarked: true })).status).toBe(400);
    expect((await api('host', `/api/0/projects/acme/web/issues/?query=is:bookmarked`)).status).toBe(400);
    expect((await put('viewer', `/api/0/issues/${ids.beta}/`, { isBookmarked: true })).status).toBe(403);
    expect((await put('member', `/api/0/issues/${ids.beta}/`, { isBookmarked: 'maybe' })).status).toBe(400);
  });
});

describe('comments', () => {
  let mine: Activity;

  it('are created, listed and counted in Sentry’s note shape', async () => {
    mine = await json<Activity>(await api('member', `/api/0/issues/${ids.alpha}/comments/`, { method: 'POST', body: JSON.stringify({ text: 'Looks like <b>the cache</b> again' }) }), 201);
    expect(mine).toMatchObject({ type: 'note', data: { text: 'Looks like <b>the cache</b> again' }, user: { id: String(users.member!.id), email: 'member@example.com' } });
    await json(await api('mate', `/api/0/organizations/acme/issues/${ids.alpha}/comments/`, { method: 'POST', body: JSON.stringify({ text: 'agreed' }) }), 201);
    const list = await json<Activity[]>(await api('viewer', `/api/0/issues/${ids.alpha}/comments/`));
    expect(list.map((c) => [c.data.text, c.user?.email])).toEqual([['agreed', 'mate@example.com'], ['Looks like <b>the cache</b> again', 'member@example.com']]);
    const d = await detail('owner', ids.alpha!);
    expect(d.numComments).toBe(2);
    expect(d.activity!.slice(0, 2).map((a) => a.type)).toEqual(['note', 'note']);
  });

  it('refuses viewers, empty and over-long text, and tokens without a user', async () => {
    const post = (who: string, body: unknown) => api(who, `/api/0/issues/${ids.alpha}/comments/`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post('viewer', { text: 'hi' })).status).toBe(403);
    expect((await post('member', { text: '   ' })).status).toBe(400);
    expect((await post('member', {})).status).toBe(400);
    const long = await post('member', { text: 'x'.repeat(COMMENT_MAX + 1) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { detail: string }).detail).toMatch(/COMMENT_MAX_CHARS/);
    expect((await post('member', { text: 'x'.repeat(COMMENT_MAX) })).status).toBe(201);
    expect((await post('host', { text: 'from a script' })).status).toBe(400);
    expect((await api('member', `/api/0/issues/999999/comments/`, { method: 'POST', body: '{"text":"x"}' })).status).toBe(404);
    expect((await detail('owner', ids.alpha!)).numComments).toBe(3);
  });

  it('are edited and deleted by their author or an admin, and no one else', async () => {
    const path = `/api/0/issues/${ids.alpha}/comments/${mine.id}/`;
    for (const who of ['mate', 'viewer']) {
      expect((await put(who, path, { text: 'hijacked' })).status).toBe(403);
      expect((await api(who, path, { method: 'DELETE' })).status).toBe(403);
    }
    const edited = await json<Activity>(await put('member', path, { text: 'It was the cache.' }));
    expect(edited).toMatchObject({ id: mine.id, type: 'note', data: { text: 'It was the cache.' }, user: { email: 'member@example.com' } });
    expect((await put('member', path, { text: 'x'.repeat(COMMENT_MAX + 1) })).status).toBe(400);
    // a comment id of another issue, or an activity entry that is no comment, is not found
    expect((await put('member', `/api/0/issues/${ids.beta}/comments/${mine.id}/`, { text: 'x' })).status).toBe(404);
    const assigned = (await detail('owner', ids.alpha!)).activity!.find((a) => a.type === 'assigned')!;
    expect((await put('owner', `/api/0/issues/${ids.alpha}/comments/${assigned.id}/`, { text: 'x' })).status).toBe(404);
    expect((await put('member', `/api/0/issues/${ids.alpha}/comments/abc/`, { text: 'x' })).status).toBe(404);
    // an admin may delete anyone's
    const mates = (await json<Activity[]>(await api('owner', `/api/0/issues/${ids.alpha}/comments/`))).find((c) => c.data.text === 'agreed')!;
    expect((await api('admin', `/api/0/issues/${ids.alpha}/comments/${mates.id}/`, { method: 'DELETE' })).status).toBe(204);
    expect((await api('member', path, { method: 'DELETE' })).status).toBe(204);
    const left = await json<Activity[]>(await api('owner', `/api/0/issues/${ids.alpha}/comments/`));
    expect(left.map((c) => c.data.text)).toEqual(['x'.repeat(COMMENT_MAX)]);
    expect((await detail('owner', ids.alpha!)).numComments).toBe(1);
  });
});

describe('the activity log', () => {
  it('records resolve, ignore and unresolve from the API and the bulk API, with who', async () => {
    await json(await put('member', `/api/0/issues/${ids.gamma}/`, { status: 'resolved' }));
    await json(await put('member', `/api/0/issues/${ids.gamma}/`, { status: 'resolved' })); // no change: no entry
    await json(await put('mate', `/api/0/projects/acme/web/issues/?id=${ids.gamma}`, { status: 'ignored', statusDetails: { ignoreDuration: 30 } }));
    await json(await put('admin', `/api/0/issues/${ids.gamma}/`, { status: 'unresolved' }));
    const a = (await detail('owner', ids.gamma!)).activity!;
    expect(a.slice(0, 3).map((x) => [x.type, x.user?.email])).toEqual([
      ['set_unresolved', 'admin@example.com'],
      ['set_ignored', 'mate@example.com'],
      ['set_resolved', 'member@example.com'],
    ]);
    // Sentry's statusDetails of the snooze: until when
    const until30 = Date.parse(String(a[1]!.data.ignoreUntil));
    expect(until30).toBeGreaterThan(Date.now() + 25 * 60_000);
    expect(until30).toBeLessThan(Date.now() + 31 * 60_000);
  });

  it('records a regression the digest finds, by nobody', async () => {
    await json(await put('owner', `/api/0/issues/${ids.gamma}/`, { status: 'resolved' }));
    await sendEvent(web, 'gamma');
    const d = await until('gamma regressed', () => detail('owner', ids.gamma!), (i) => i.substatus === 'regressed');
    expect(d.status).toBe('unresolved');
    expect(d.activity!.slice(0, 2).map((x) => [x.type, x.user])).toEqual([['set_regression', null], ['set_resolved', expect.objectContaining({ email: 'owner@example.com' })]]);
  });

  it('records a snooze that ends by itself', async () => {
    await json(await put('owner', `/api/0/issues/${ids.beta}/`, { status: 'ignored', statusDetails: { ignoreDuration: 600 } }));
    // the snooze's time comes (moved, not waited for), and a worker's wake-up brings it back
    await db.pool.query("UPDATE issue SET snooze_until = now() - interval '1 second' WHERE id = $1", [ids.beta]);
    expect(await wakeSnoozedIssues(db.pool)).toBeGreaterThanOrEqual(0);
    const d = await until('beta back', () => detail('owner', ids.beta!), (i) => i.status === 'unresolved');
    expect(d.activity!.slice(0, 2).map((x) => [x.type, x.user?.email ?? null])).toEqual([['set_escalating', null], ['set_ignored', 'owner@example.com']]);
  });

  it('records a snooze its events ended (the digest’s fold)', async () => {
    const delta = await sendEvent(web, 'delta');
    await json(await put('mate', `/api/0/issues/${delta.id}/`, { status: 'ignored', statusDetails: { ignoreCount: 1 } }));
    await sendEvent(web, 'delta');
    const d = await until('delta back', () => detail('owner', delta.id), (i) => i.status === 'unresolved');
    expect(d.substatus).toBe('escalating');
    expect(d.activity!.map((x) => [x.type, x.user?.email ?? null])).toEqual([['set_escalating', null], ['set_ignored', 'mate@example.com']]);
    expect(d.activity![1]!.data).toMatchObject({ ignoreCount: 1 });
  });
});

describe('the web UI', () => {
  let member: string;
  let viewer: string;

  beforeAll(async () => {
    member = await logIn(server, 'member@example.com', PASSWORD);
    viewer = await logIn(server, 'viewer@example.com', PASSWORD);
  });

  it('shows a member the assignee select, "assign to me", the bookmark toggle, the comment form and the timeline', async () => {
    const page = await getPage(server, `/issues/${ids.gamma}`, member);
    expect(page).toContain(`action="/issues/${ids.gamma}/assign"`);
    for (const u of ['owner', 'admin', 'member', 'mate', 'viewer']) expect(page).toContain(`<option value="user:${users[u]!.id}">${u}@example.com</option>`);
    expect(page).not.toContain('outsider@example.com'); // cannot see the project
    expect(page).toContain('Assign to me');
    expect(page).toContain('☆ Bookmark');
    expect(page).toContain(`action="/issues/${ids.gamma}/comments"`);
    expect(page).toMatch(/<li class="activity activity-set_regression"[^>]*><span class="who">crash-cache<\/span> marked this issue as a regression/);
    expect(page).toMatch(/<span class="who">admin@example\.com<\/span> marked this issue unresolved/);
  });

  it('assigns to me, bookmarks, comments (escaped) and resolves, each logged with the member', async () => {
    const page = await getPage(server, `/issues/${ids.gamma}`, member);
    const csrf = hidden(page, '_csrf');
    expect((await postForm(server, `/issues/${ids.gamma}/assign`, { _csrf: csrf, assignee: `user:${users.member!.id}` }, member)).status).toBe(303);
    expect((await postForm(server, `/issues/${ids.gamma}/bookmark`, { _csrf: csrf, bookmarked: '1' }, member)).status).toBe(303);
    expect((await postForm(server, `/issues/${ids.gamma}/comments`, { _csrf: csrf, text: '<script>alert(1)</script> & more' }, member)).status).toBe(303);
    expect((await postForm(server, `/issues/${ids.gamma}/status`, { _csrf: csrf, status: 'resolved' }, member)).status).toBe(303);
    const d = await detail('member', ids.gamma!);
    expect(d).toMatchObject({ status: 'resolved', isBookmarked: true, numComments: 1, assignedTo: { email: 'member@example.com' } });
    expect(d.activity!.slice(0, 3).map((a) => [a.type, a.user?.email])).toEqual([
      ['set_resolved', 'member@example.com'], ['note', 'member@example.com'], ['assigned', 'member@example.com'],
    ]);
    const after = await getPage(server, `/issues/${ids.gamma}`, member);
    expect(after).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(after).not.toContain('<script>alert(1)');
    expect(after).toContain('★ Remove bookmark');
    expect(after).toContain('<span id="issue-assignee">member@example.com</span>');
    expect(after).not.toContain('Assign to me'); // already mine
    // the comment's own edit and delete forms
    const note = d.activity![1]!;
    expect(after).toContain(`action="/issues/${ids.gamma}/comments/${note.id}/edit"`);
    expect((await postForm(server, `/issues/${ids.gamma}/comments/${note.id}/edit`, { _csrf: csrf, text: 'edited in the UI' }, member)).status).toBe(303);
    expect((await json<Activity[]>(await api('owner', `/api/0/issues/${ids.gamma}/comments/`)))[0]!.data.text).toBe('edited in the UI');
    // the issue list finds it with the same search language
    const list = await getPage(server, `/projects/web/issues?status=all&q=${encodeURIComponent('assigned:me is:bookmarked')}`, member);
    expect(list).toContain(`href="/issues/${ids.gamma}"`);
    expect(list).not.toContain(`href="/issues/${ids.alpha}"`);
    expect(list).toContain('assigned to member@example.com');
    // unassign through the select's empty option
    expect((await postForm(server, `/issues/${ids.gamma}/assign`, { _csrf: csrf, assignee: '' }, member)).status).toBe(303);
    expect((await detail('owner', ids.gamma!)).assignedTo).toBeNull();
    // a user who cannot see the project is an error page, and nothing changes
    const bad = await postForm(server, `/issues/${ids.gamma}/assign`, { _csrf: csrf, assignee: `user:${users.outsider!.id}` }, member);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/cannot see project web/);
    expect((await detail('owner', ids.gamma!)).assignedTo).toBeNull();
  });

  it('lets the comment of another be neither edited nor deleted by a member, nor posted without CSRF', async () => {
    const note = (await json<Activity[]>(await api('owner', `/api/0/issues/${ids.gamma}/comments/`)))[0]!;
    const mate = await logIn(server, 'mate@example.com', PASSWORD);
    const page = await getPage(server, `/issues/${ids.gamma}`, mate);
    expect(page).not.toContain(`comments/${note.id}/edit`);
    const csrf = hidden(page, '_csrf');
    expect((await postForm(server, `/issues/${ids.gamma}/comments/${note.id}/edit`, { _csrf: csrf, text: 'mine now' }, mate)).status).toBe(403);
    expect((await postForm(server, `/issues/${ids.gamma}/comments/${note.id}/delete`, { _csrf: csrf }, mate)).status).toBe(403);
    expect((await postForm(server, `/issues/${ids.gamma}/comments`, { text: 'no token' }, mate)).status).toBe(403);
    expect((await postForm(server, `/issues/${ids.gamma}/comments`, { _csrf: 'wrong', text: 'wrong token' }, mate)).status).toBe(403);
    expect((await detail('owner', ids.gamma!)).numComments).toBe(1);
    // the author deletes it
    const member2 = await logIn(server, 'member@example.com', PASSWORD);
    const csrf2 = hidden(await getPage(server, `/issues/${ids.gamma}`, member2), '_csrf');
    expect((await postForm(server, `/issues/${ids.gamma}/comments/${note.id}/delete`, { _csrf: csrf2 }, member2)).status).toBe(303);
    expect((await detail('owner', ids.gamma!)).numComments).toBe(0);
  });

  it('shows viewers everything read-only and refuses their POSTs', async () => {
    const page = await getPage(server, `/issues/${ids.alpha}`, viewer);
    expect(page).toContain('<span id="issue-assignee">mate@example.com</span>');
    expect(page).toContain('x'.repeat(COMMENT_MAX)); // the comment
    for (const a of ['assign', 'bookmark', 'comments']) expect(page).not.toContain(`action="/issues/${ids.alpha}/${a}"`);
    expect(page).not.toContain('<textarea');
    const csrf = hidden(page, '_csrf');
    for (const [path, fields] of [['assign', { assignee: `user:${users.viewer!.id}` }], ['bookmark', { bookmarked: '1' }], ['comments', { text: 'hello' }], ['status', { status: 'resolved' }]] as const) {
      const r = await postForm(server, `/issues/${ids.alpha}/${path}`, { _csrf: csrf, ...fields }, viewer);
      expect(r.status, path).toBe(403);
    }
    const d = await detail('viewer', ids.alpha!);
    expect(d).toMatchObject({ status: 'unresolved', isBookmarked: false, assignedTo: { email: 'mate@example.com' }, numComments: 1 });
  });
});

describe('keeping and deleting', () => {
  it('ruminate keeps assignees, comments, bookmarks and the activity log (issue ids are kept)', async () => {
    const before = await Promise.all(['alpha', 'beta', 'gamma'].map((t) => detail('mate', ids[t]!)));
    await cli(['ruminate', '--yes'], env);
    const after = await until('issues rebuilt', () => Promise.all(['alpha', 'beta', 'gamma'].map((t) => detail('mate', ids[t]!))), (l) => l.every((i) => Number((i as unknown as { count: string }).count) > 0));
    for (let n = 0; n < 3; n++) {
      expect(after[n]!.id).toBe(before[n]!.id);
      expect(after[n]!.assignedTo).toEqual(before[n]!.assignedTo);
      expect(after[n]!.isBookmarked).toBe(before[n]!.isBookmarked);
      expect(after[n]!.numComments).toBe(before[n]!.numComments);
      expect(after[n]!.activity!.map((a) => a.id)).toEqual(before[n]!.activity!.map((a) => a.id));
    }
    expect(after[0]!.assignedTo?.email).toBe('mate@example.com');
    expect(after[1]!.isBookmarked).toBe(true);
    expect(after[0]!.numComments).toBe(1);
    expect(await search('mate', 'assigned:me')).toEqual(['alpha', 'beta']);
  });

  it('deleting an issue deletes its assignee, bookmarks, comments and activity', async () => {
    await json(await put('owner', `/api/0/issues/${ids.alpha}/`, { isBookmarked: true }));
    const count = async (table: string) => Number((await db.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE issue_id = $1`, [ids.alpha])).rows[0].n);
    for (const t of ['issue_assignee', 'issue_bookmark', 'issue_activity']) expect(await count(t), t).toBeGreaterThan(0);
    expect((await api('member', `/api/0/issues/${ids.alpha}/`, { method: 'DELETE' })).status).toBe(403); // event:admin
    expect((await api('admin', `/api/0/issues/${ids.alpha}/`, { method: 'DELETE' })).status).toBe(202);
    for (const t of ['issue_assignee', 'issue_bookmark', 'issue_activity']) expect(await count(t), t).toBe(0);
    // bookmarks of the other issues stay
    expect(await search('mate', 'is:bookmarked')).toEqual(['beta']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { seedIssue } from './seed.js';

// The issue list, search, sorts, pages, status changes, deletion and tag distributions, over HTTP
// against rows laid out as the digest writes them.

let db: TestDatabase;
let server: RunningServer;
let token: string;
const H = 3_600_000;
const now = Date.now();
const ago = (ms: number) => new Date(now - ms);
const ids: Record<string, number> = {};
let pagedIds: number[] = [];
let otherProjectIssue = 0;

type Issue = Record<string, unknown> & { id: string; title: string; status: string; substatus: string | null; count: string; userCount: number; shortId: string };

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url, PUBLIC_URL: 'http://errors.example.com', ORGANIZATION_SLUG: 'acme' };
  await cli(['project', 'create', '--name', 'web', '--platform', 'python'], env);
  await cli(['project', 'create', '--name', 'batch'], env);
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create'], env))![1]!;
  const p = db.pool;
  // Distinct orders per sort: date = last_seen, new = first_seen, freq = events, user = users.
  ids.zero = (await seedIssue(p, 1, { title: 'ZeroDivisionError: division by zero', firstSeen: ago(50 * H), lastSeen: ago(1 * H), events: 10, users: 1, tags: { release: 'web@1.0', environment: 'production', browser: 'Firefox 120' }, handled: false })).id;
  ids.key = (await seedIssue(p, 1, { title: "KeyError: 'user'", firstSeen: ago(2 * H), lastSeen: ago(2 * H), events: 500, users: 3, level: 'warning', tags: { release: 'web@2.0', environment: 'staging', browser: 'Chrome 119' } })).id;
  ids.type = (await seedIssue(p, 1, { title: "TypeError: 'NoneType' object is not subscriptable", firstSeen: ago(30 * H), lastSeen: ago(3 * H), events: 40, users: 70, tags: { release: 'web@2.0', environment: 'production', browser: 'Chrome 120' } })).id;
  ids.old = (await seedIssue(p, 1, { title: 'ValueError: too old', firstSeen: ago(100 * H), lastSeen: ago(48 * H), events: 2, users: 2, level: 'info' })).id;
  ids.resolved = (await seedIssue(p, 1, { title: 'RuntimeError: fixed already', firstSeen: ago(10 * H), lastSeen: ago(5 * H), status: 'resolved', substatus: null })).id;
  ids.ignored = (await seedIssue(p, 1, { title: 'Warning: noisy', firstSeen: ago(10 * H), lastSeen: ago(4 * H), status: 'ignored', substatus: 'archived_forever' })).id;
  ids.regressed = (await seedIssue(p, 1, { title: 'OSError: came back', firstSeen: ago(60 * H), lastSeen: ago(6 * H), substatus: 'regressed' })).id;
  otherProjectIssue = (await seedIssue(p, 2, { title: 'MemoryError: in batch', firstSeen: ago(7 * H), lastSeen: ago(7 * H) })).id;
  server = await startServer(env);
});
afterAll(async () => {
  if (process.env.API_TEST_LOGS) console.log(server?.logs.slice(-40).join('\n'));
  await server?.stop();
  await db?.drop();
});

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}
async function list(query: string): Promise<Issue[]> {
  const r = await api(`/api/0/projects/acme/web/issues/${query}`);
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as Issue[];
}
const titles = (l: Issue[]) => l.map((i) => i.title.split(':')[0]);

describe('issue list', () => {
  it('shows unresolved issues by default, newest activity first, in Sentry’s shape', async () => {
    const l = await list('');
    expect(titles(l)).toEqual(['ZeroDivisionError', 'KeyError', 'TypeError', 'OSError', 'ValueError']);
    const z = l[0]!;
    expect(z).toMatchObject({
      id: String(ids.zero),
      shortId: 'WEB-1',
      title: 'ZeroDivisionError: division by zero',
      culprit: 'app.main in handler',
      level: 'error',
      status: 'unresolved',
      substatus: 'new',
      count: '10',
      userCount: 1,
      platform: 'python',
      type: 'error',
      isUnhandled: true,
      numComments: 0,
      assignedTo: null,
      project: { id: '1', name: 'web', slug: 'web', platform: 'python' },
      permalink: `http://errors.example.com/organizations/acme/issues/${ids.zero}/`,
      metadata: { type: 'ZeroDivisionError', value: 'division by zero' },
    });
    expect(z.firstSeen).toBe(ago(50 * H).toISOString());
    expect(z.lastSeen).toBe(ago(1 * H).toISOString());
    expect(l[1]!.isUnhandled).toBe(false);
    expect(z.stats).toBeUndefined();
  });

  it('sorts by date, new, freq and user', async () => {
    expect(titles(await list('?sort=new'))).toEqual(['KeyError', 'TypeError', 'ZeroDivisionError', 'OSError', 'ValueError']);
    expect(titles(await list('?sort=freq'))).toEqual(['KeyError', 'TypeError', 'ZeroDivisionError', 'ValueError', 'OSError']);
    expect(titles(await list('?sort=user'))).toEqual(['TypeError', 'KeyError', 'ValueError', 'ZeroDivisionError', 'OSError']);
    expect((await api('/api/0/projects/acme/web/issues/?sort=random')).status).toBe(400);
  });

  it('filters by status, level, release, environment, tags, negation and free text', async () => {
    expect(titles(await list('?query=is:resolved'))).toEqual(['RuntimeError']);
    expect(titles(await list('?query=is:ignored'))).toEqual(['Warning']);
    expect(titles(await list('?query=is:regressed'))).toEqual(['OSError']);
    expect((await list('?query=')).length).toBe(7);
    expect(titles(await list('?query=is:unresolved%20level:warning'))).toEqual(['KeyError']);
    expect(titles(await list('?query=level:[warning,info]'))).toEqual(['KeyError', 'ValueError']);
    expect(titles(await list('?query=' + encodeURIComponent('release:web@2.0')))).toEqual(['KeyError', 'TypeError']);
    expect(titles(await list('?query=' + encodeURIComponent('release:web@2.0 environment:production')))).toEqual(['TypeError']);
    expect(titles(await list('?query=' + encodeURIComponent('release:web@*')))).toEqual(['ZeroDivisionError', 'KeyError', 'TypeError']);
    expect(titles(await list('?query=' + encodeURIComponent('!environment:production is:unresolved')))).toEqual(['KeyError', 'OSError', 'ValueError']);
    expect(titles(await list('?query=' + encodeURIComponent('browser:"Chrome 120"')))).toEqual(['TypeError']);
    expect(titles(await list('?environment=staging&environment=production'))).toEqual(['ZeroDivisionError', 'KeyError', 'TypeError']);
    expect(titles(await list('?environment=staging'))).toEqual(['KeyError']);
    expect(titles(await list('?query=' + encodeURIComponent('has:browser')))).toEqual(['ZeroDivisionError', 'KeyError', 'TypeError']);
    expect(titles(await list('?query=' + encodeURIComponent('subscriptable')))).toEqual(['TypeError']);
    expect(titles(await list('?query=' + encodeURIComponent('"division by" is:unresolved')))).toEqual(['ZeroDivisionError']);
    expect(titles(await list('?query=' + encodeURIComponent('WEB-2')))).toEqual(['KeyError']);
    expect(titles(await list('?query=' + encodeURIComponent('timesSeen:>30')))).toEqual(['KeyError', 'TypeError']);
    expect(titles(await list('?query=' + encodeURIComponent('is:unresolved age:-24h')))).toEqual(['KeyError']);
    expect(titles(await list('?query=' + encodeURIComponent('age:-24h')))).toEqual(['KeyError', 'Warning', 'RuntimeError']);
    expect((await api('/api/0/projects/acme/web/issues/?query=is:bogus')).status).toBe(400);
  });

  it('statsPeriod limits to issues seen in the period and adds the stats series', async () => {
    const l = await list('?statsPeriod=24h');
    expect(titles(l)).toEqual(['ZeroDivisionError', 'KeyError', 'TypeError', 'OSError']);
    const stats = (l[0]!.stats as Record<string, [number, number][]>)['24h']!;
    expect(stats).toHaveLength(24);
    // three report rows spread from 50 h to 1 h ago: only the one 1 h ago is in the last 24 hours
    expect(stats.reduce((n, [, c]) => n + c, 0)).toBe(1);
    // the last bucket is the current hour's (the hour may have turned since `now` was taken)
    expect([0, 3600]).toContain(stats[stats.length - 1]![0] - Math.floor(now / 3_600_000) * 3600);
    expect(titles(await list('?statsPeriod='))).toEqual(['ZeroDivisionError', 'KeyError', 'TypeError', 'OSError', 'ValueError']);
    const d14 = (await list('?statsPeriod=14d&limit=1'))[0]!.stats as Record<string, [number, number][]>;
    expect(d14['14d']).toHaveLength(14);
    expect(d14['14d']!.reduce((n, [, c]) => n + c, 0)).toBe(3);
    expect((await api('/api/0/projects/acme/web/issues/?statsPeriod=forever')).status).toBe(400);
  });

  it('serves the organization issue list, by project', async () => {
    const one = (await (await api(`/api/0/organizations/acme/issues/?project=2&query=`)).json()) as Issue[];
    expect(one.map((i) => i.id)).toEqual([String(otherProjectIssue)]);
    expect(one[0]!.shortId).toBe('BATCH-1');
    const both = (await (await api(`/api/0/organizations/acme/issues/?query=&limit=100`)).json()) as Issue[];
    expect(both).toHaveLength(8);
    expect((await api('/api/0/organizations/acme/issues/?project=99')).status).toBe(403);
    expect((await api('/api/0/organizations/nope/issues/')).status).toBe(404);
  });
});

function parseLink(h: string | null): Record<string, { cursor: string; results: boolean; url: string }> {
  const out: Record<string, { cursor: string; results: boolean; url: string }> = {};
  for (const part of (h ?? '').split(/,\s*(?=<)/)) {
    const m = /^<([^>]+)>; rel="(\w+)"; results="(true|false)"; cursor="([^"]*)"$/.exec(part.trim());
    if (m) out[m[2]!] = { url: m[1]!, results: m[3] === 'true', cursor: m[4]! };
  }
  return out;
}

describe('pagination', () => {
  beforeAll(async () => {
    // 61 issues in a third project, with ties in last_seen every 3 issues, so that the cursor must break ties by id.
    await cli(['project', 'create', '--name', 'paged'], { DATABASE_URL: db.url });
    pagedIds = [];
    for (let i = 0; i < 61; i++) {
      const t = ago((Math.floor(i / 3) + 1) * 60_000);
      pagedIds.push((await seedIssue(db.pool, 3, { title: `E${i}: x`, firstSeen: t, lastSeen: t, events: (i % 7) + 1, reports: 0 })).id);
    }
  });

  for (const sort of ['date', 'new', 'freq', 'user']) {
    it(`follows next cursors to the end, each issue once (sort=${sort})`, async () => {
      const seen: string[] = [];
      let path = `/api/0/projects/acme/paged/issues/?limit=10&sort=${sort}`;
      let pages = 0;
      const prevCursors: string[] = [];
      for (;;) {
        const r = await api(path);
        expect(r.status).toBe(200);
        const page = (await r.json()) as Issue[];
        seen.push(...page.map((i) => i.id));
        const links = parseLink(r.headers.get('link'));
        expect(links.previous!.results).toBe(pages > 0);
        prevCursors.push(links.previous!.cursor);
        pages++;
        if (!links.next!.results) break;
        expect(page).toHaveLength(10);
        expect(links.next!.url.startsWith('http://errors.example.com/api/0/projects/acme/paged/issues/?')).toBe(true);
        path = new URL(links.next!.url).pathname + new URL(links.next!.url).search;
        expect(pages).toBeLessThan(20);
      }
      expect(pages).toBe(7);
      expect(seen).toHaveLength(61);
      expect(new Set(seen).size).toBe(61);
      expect(seen.map(Number).sort((a, b) => a - b)).toEqual([...pagedIds].sort((a, b) => a - b));
      // going back from the last page gives the page before it
      const back = await api(`/api/0/projects/acme/paged/issues/?limit=10&sort=${sort}&cursor=${encodeURIComponent(prevCursors[6]!)}`);
      const backPage = ((await back.json()) as Issue[]).map((i) => i.id);
      expect(backPage).toEqual(seen.slice(50, 60));
      expect(parseLink(back.headers.get('link')).next!.results).toBe(true);
    });
  }

  it('rejects a malformed cursor with 400 and accepts an empty one (sentry-cli sends cursor=)', async () => {
    expect((await api('/api/0/projects/acme/paged/issues/?cursor=abc')).status).toBe(400);
    expect(((await (await api('/api/0/projects/acme/paged/issues/?cursor=')).json()) as Issue[]).length).toBe(61);
  });
});

describe('one issue and its workflow', () => {
  it('shows an issue by id and by short id, under both URL forms', async () => {
    for (const path of [`/api/0/issues/${ids.key}/`, `/api/0/organizations/acme/issues/${ids.key}/`, '/api/0/issues/WEB-2/']) {
      const r = await api(path);
      expect(r.status).toBe(200);
      const j = (await r.json()) as Issue & { tags: { key: string; totalValues: number }[]; stats: Record<string, unknown[]>; firstRelease: { version: string } | null };
      expect(j.id).toBe(String(ids.key));
      expect(j.shortId).toBe('WEB-2');
      expect(j.tags.map((t) => t.key)).toEqual(['browser', 'environment', 'release']);
      expect(j.tags[0]!.totalValues).toBe(500);
      expect(j.stats['24h']).toHaveLength(24);
      expect(j.stats['30d']).toHaveLength(30);
      expect(j.firstRelease?.version).toBe('web@2.0');
    }
    expect((await api('/api/0/issues/999999/')).status).toBe(404);
    expect((await api('/api/0/organizations/other/issues/1/')).status).toBe(404);
  });

  it('resolves, ignores and unresolves one issue', async () => {
    let r = await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'resolved' }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ id: String(ids.zero), status: 'resolved', substatus: null, statusDetails: {} });
    const { rows } = await db.pool.query('SELECT status, resolved_at FROM issue WHERE id = $1', [ids.zero]);
    expect(rows[0].status).toBe('resolved');
    expect(rows[0].resolved_at).toBeInstanceOf(Date);
    expect(titles(await list('?query=is:resolved'))).toEqual(['ZeroDivisionError', 'RuntimeError']);

    r = await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'ignored' }) });
    expect(await r.json()).toMatchObject({ status: 'ignored', substatus: 'archived_forever' });
    r = await api(`/api/0/organizations/acme/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'unresolved' }) });
    expect(await r.json()).toMatchObject({ status: 'unresolved', substatus: 'ongoing' });
    r = await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'resolvedInNextRelease' }) });
    expect(await r.json()).toMatchObject({ status: 'resolved', statusDetails: { inNextRelease: true } });
    expect((await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'fixed' }) })).status).toBe(400);
    expect((await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: '{not json' })).status).toBe(400);
    await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'unresolved' }) });
  });

  it('ignores an issue for a while or until it happens again, and shows the conditions', async () => {
    const before = Date.now();
    let r = await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'ignored', statusDetails: { ignoreDuration: 30, ignoreCount: 100, ignoreWindow: 60 } }) });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { statusDetails: { ignoreUntil: string } };
    expect(body).toMatchObject({ status: 'ignored', substatus: 'archived_until_condition_met', statusDetails: { ignoreCount: 100, ignoreWindow: 60, ignoreUserCount: null, actor: null } });
    const until = Date.parse(body.statusDetails.ignoreUntil);
    expect(until).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(until).toBeLessThan(Date.now() + 30 * 60_000 + 1000);
    // the issue itself shows them too
    expect(await (await api(`/api/0/issues/${ids.zero}/`)).json()).toMatchObject({ status: 'ignored', statusDetails: { ignoreCount: 100, ignoreUntil: body.statusDetails.ignoreUntil } });
    const { rows } = await db.pool.query('SELECT snooze_count::int, extract(epoch FROM snooze_window)::int AS window FROM issue WHERE id = $1', [ids.zero]);
    expect(rows[0]).toEqual({ snooze_count: 100, window: 3600 });
    for (const bad of [{ ignoreCount: -1 }, { ignoreDuration: 'soon' }, { ignoreUntil: 'tomorrow' }]) {
      r = await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'ignored', statusDetails: bad }) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { detail: string }).detail).toMatch(/ignore(Count|Duration|Until)/);
    }
    r = await api(`/api/0/issues/${ids.zero}/`, { method: 'PUT', body: JSON.stringify({ status: 'unresolved' }) });
    expect(await r.json()).toMatchObject({ status: 'unresolved', statusDetails: {} });
  });

  it('changes many issues at once by id or by query, answering the change', async () => {
    let r = await api(`/api/0/projects/acme/web/issues/?id=${ids.key}&id=${ids.type}`, { method: 'PUT', body: JSON.stringify({ status: 'resolved' }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'resolved', statusDetails: {}, substatus: null, inbox: null });
    expect(titles(await list('?query=is:resolved'))).toEqual(['KeyError', 'TypeError', 'RuntimeError']);
    // by query: every resolved issue at level warning
    r = await api(`/api/0/projects/acme/web/issues/?query=${encodeURIComponent('is:resolved level:warning')}`, { method: 'PUT', body: JSON.stringify({ status: 'unresolved' }) });
    expect(await r.json()).toMatchObject({ status: 'unresolved' });
    expect(titles(await list('?query=is:resolved'))).toEqual(['TypeError', 'RuntimeError']);
    // an id of another project is not touched through this project's URL: nothing matched → 204
    r = await api(`/api/0/projects/acme/web/issues/?id=${otherProjectIssue}`, { method: 'PUT', body: JSON.stringify({ status: 'resolved' }) });
    expect(r.status).toBe(204);
    const { rows } = await db.pool.query('SELECT status FROM issue WHERE id = $1', [otherProjectIssue]);
    expect(rows[0].status).toBe('unresolved');
    await api(`/api/0/projects/acme/web/issues/?id=${ids.type}`, { method: 'PUT', body: JSON.stringify({ status: 'unresolved' }) });
  });

  it('gives tag value distributions', async () => {
    const r = await api(`/api/0/issues/${ids.type}/tags/`);
    const tags = (await r.json()) as { key: string; name: string; totalValues: number; topValues: { value: string; count: number; firstSeen: string; lastSeen: string }[] }[];
    expect(tags.map((t) => t.key)).toEqual(['browser', 'environment', 'release']);
    expect(tags[0]).toMatchObject({ key: 'browser', name: 'Browser', totalValues: 40, topValues: [{ value: 'Chrome 120', count: 40, firstSeen: ago(30 * H).toISOString(), lastSeen: ago(3 * H).toISOString() }] });
    const one = (await (await api(`/api/0/issues/${ids.type}/tags/release/`)).json()) as { key: string; uniqueValues: number; topValues: { value: string }[] };
    expect(one).toMatchObject({ key: 'release', uniqueValues: 1, topValues: [{ value: 'web@2.0' }] });
    expect((await api(`/api/0/issues/${ids.type}/tags/nope/`)).status).toBe(404);
    const values = (await (await api(`/api/0/issues/${ids.type}/tags/release/values/`)).json()) as { value: string }[];
    expect(values.map((v) => v.value)).toEqual(['web@2.0']);
  });

  it('pages an issue’s events and shows one even when its payload is gone', async () => {
    // seeded reports have no archived payload: the event is shown from its report row
    const first = await api(`/api/0/issues/${ids.zero}/events/?limit=2`);
    const page1 = (await first.json()) as { eventID: string; tags: { key: string; value: string }[]; dateCreated: string }[];
    expect(page1).toHaveLength(2);
    expect(page1[0]!.tags).toContainEqual({ key: 'release', value: 'web@1.0' });
    expect(new Date(page1[0]!.dateCreated).getTime()).toBeGreaterThan(new Date(page1[1]!.dateCreated).getTime());
    const next = parseLink(first.headers.get('link')).next!;
    expect(next.results).toBe(true);
    const page2 = (await (await api(`/api/0/issues/${ids.zero}/events/?limit=2&cursor=${encodeURIComponent(next.cursor)}`)).json()) as { eventID: string }[];
    expect(page2).toHaveLength(1);
    const latest = (await (await api(`/api/0/issues/${ids.zero}/events/latest/`)).json()) as Record<string, unknown>;
    expect(latest).toMatchObject({ eventID: page1[0]!.eventID, groupID: String(ids.zero), title: 'ZeroDivisionError: division by zero', entries: [{ type: 'message', data: { formatted: 'ZeroDivisionError: division by zero' } }], previousEventID: page1[1]!.eventID, nextEventID: null });
    expect((await api(`/api/0/issues/${ids.key}/events/${page1[0]!.eventID}/`)).status).toBe(404); // another issue's event
  });

  it('explains grouping', async () => {
    const g = (await (await api(`/api/0/issues/${ids.type}/grouping/info/`)).json()) as Record<string, { hash: string; contributes: boolean; type: string }>;
    expect(Object.keys(g)).toEqual(['app']);
    expect(g.app).toMatchObject({ contributes: true, type: 'component' });
    expect(g.app!.hash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('deletes an issue with its events', async () => {
    const r = await api(`/api/0/issues/${ids.old}/`, { method: 'DELETE' });
    expect(r.status).toBe(202);
    expect((await api(`/api/0/issues/${ids.old}/`)).status).toBe(404);
    for (const t of ['report', 'issue_hash', 'issue_tag']) {
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${t} WHERE issue_id = $1`, [ids.old]);
      expect(rows[0].n, t).toBe(0);
    }
    const rr = await api(`/api/0/projects/acme/web/issues/?id=${ids.ignored}`, { method: 'DELETE' });
    expect(rr.status).toBe(204);
    expect((await api(`/api/0/issues/${ids.ignored}/`)).status).toBe(404);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { getPage, hidden, logIn, postForm } from './web.js';

// Pages whose numbers come from aggregate tables, checked against numbers worked out by hand from
// rows put there with SQL (the digest and the outcome buffer fill them in production).

let db: TestDatabase;
let server: RunningServer;
let cookie: string;
let projectId: number;

beforeAll(async () => {
  db = await freshDatabase();
  await cli(['user', 'create', '--email', 'a@example.com', '--password', 'pages-password'], { DATABASE_URL: db.url });
  const out = await cli(['project', 'create', '--name', 'Health <Check>'], { DATABASE_URL: db.url });
  projectId = Number(/Project (\d+)/.exec(out)![1]);
  server = await startServer({ DATABASE_URL: db.url });
  cookie = await logIn(server, 'a@example.com', 'pages-password');
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

async function dim(kind: string, value: string): Promise<number> {
  const { rows } = await db.pool.query('INSERT INTO project_dim (project_id, kind, value) VALUES ($1, $2, $3) RETURNING id', [projectId, kind, value]);
  return rows[0].id;
}

describe('forms', () => {
  it('refuses a status change without the CSRF token (403) and leaves the issue alone', async () => {
    const r = await fetch(`${server.url}/issues/1/status`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: 'status=resolved',
    });
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await r.text()).toMatch(/CSRF/);
  });

  it('refuses a cross-site form post that carries no session cookie (SameSite=Lax keeps it home)', async () => {
    const r = await fetch(`${server.url}/issues/1/status`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'status=resolved&_csrf=guess',
    });
    expect(r.status).toBe(403);
  });
});

describe('issue stream', () => {
  async function issue(shortId: number, title: string, level: string, status: string, events: number, env: string): Promise<number> {
    const { rows } = await db.pool.query(
      `INSERT INTO issue (project_id, short_id, first_seen, last_seen, last_received, event_count, user_count, status, substatus,
                          primary_hash, grouping_config, type, level, platform, title, culprit)
       VALUES ($1, $2::bigint, now() - interval '2 days', now() - make_interval(mins => $2::int), now(), $3, 1, $4, NULL, md5($5), 'newstyle:2023-01-11', 'error', $6, 'node', $5, 'app.js')
       RETURNING id`,
      [projectId, shortId, events, status, title, level],
    );
    const tv = await db.pool.query(
      `INSERT INTO tag_value (project_id, key, value) VALUES ($1, 'environment', $2)
       ON CONFLICT (project_id, key, value) DO UPDATE SET value = EXCLUDED.value RETURNING id`,
      [projectId, env],
    );
    await db.pool.query(`INSERT INTO issue_tag (project_id, issue_id, tag_value_id, count, first_seen, last_seen) VALUES ($1, $2, $3, $4, now(), now())`, [projectId, rows[0].id, tv.rows[0].id, events]);
    return rows[0].id;
  }
  const titles = (page: string) => [...page.matchAll(/<a class="issue-title" href="\/issues\/\d+">([^<]*)<\/a>/g)].map((m) => m[1]);

  it('filters by status, level, environment and text, and sorts', async () => {
    await issue(1, 'TypeError: a is undefined', 'error', 'unresolved', 5, 'production');
    await issue(2, 'Warning: slow query <b>', 'warning', 'unresolved', 50, 'staging');
    await issue(3, 'ValueError: old', 'error', 'resolved', 500, 'production');
    const base = '/projects/health-check/issues';
    expect(titles(await getPage(server, base, cookie))).toEqual(['TypeError: a is undefined', 'Warning: slow query &lt;b&gt;']);
    expect(titles(await getPage(server, `${base}?status=all&sort=freq`, cookie))).toEqual(['ValueError: old', 'Warning: slow query &lt;b&gt;', 'TypeError: a is undefined']);
    expect(titles(await getPage(server, `${base}?status=resolved`, cookie))).toEqual(['ValueError: old']);
    expect(titles(await getPage(server, `${base}?level=warning`, cookie))).toEqual(['Warning: slow query &lt;b&gt;']);
    expect(titles(await getPage(server, `${base}?status=all&environment=production`, cookie))).toEqual(['TypeError: a is undefined', 'ValueError: old']);
    expect(titles(await getPage(server, `${base}?q=${encodeURIComponent('TypeError')}`, cookie))).toEqual(['TypeError: a is undefined']);
    expect(titles(await getPage(server, `${base}?status=all&q=${encodeURIComponent('!level:error')}`, cookie))).toEqual(['Warning: slow query &lt;b&gt;']);
    // the environment menu offers the values seen
    const page = await getPage(server, base, cookie);
    expect(page).toContain('<option value="staging">staging</option>');
  });

  it('keeps the issue page up when an event payload cannot be read', async () => {
    const id = await issue(9, 'Broken: payload', 'error', 'unresolved', 1, 'production');
    const a = await db.pool.query(
      `INSERT INTO archive (project_id, sha256, kind, encoding, stored_size, payload) VALUES ($1, sha256('x'), 'store', 'gzip', 4, '\\xdeadbeef') RETURNING id`,
      [projectId],
    );
    await db.pool.query(
      `INSERT INTO report (project_id, issue_id, archive_id, timestamp, received_at, event_id, item_index) VALUES ($1, $2, $3, now(), now(), '0123456789abcdef0123456789abcdef', 0)`,
      [projectId, id, a.rows[0].id],
    );
    const page = await getPage(server, `/issues/${id}`, cookie);
    expect(page).toContain('<h1 id="issue-title">Broken: payload</h1>');
    expect(page).toContain('The stored payload of this event could not be read.');
  });

  it('shows a query the search language rejects as a message on the page', async () => {
    const r = await fetch(`${server.url}/projects/health-check/issues?q=${encodeURIComponent('is:sideways')}`, { headers: { cookie }, redirect: 'manual' });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/<p class="error" role="alert">invalid is: value &quot;sideways&quot;/);
  });
});

describe('releases page', () => {
  it('shows crash-free sessions and users per release', async () => {
    const r1 = await dim('release', 'shop@1.0.0');
    const r2 = await dim('release', 'shop@2.0.0<script>');
    const env = await dim('environment', 'production');
    const h1 = new Date(Date.now() - 3 * 3600_000);
    const h2 = new Date(Date.now() - 2 * 3600_000);
    // release 1: 200 sessions, 3 crashed → 98.5 %; 4 users of whom 1 crashed → 75 %
    await db.pool.query(
      `INSERT INTO session_hourly (project_id, hour, release_id, environment_id, total, errored, crashed, abnormal, exited)
       VALUES ($1, date_trunc('hour', $2::timestamptz), $3, $5, 120, 5, 2, 0, 110), ($1, date_trunc('hour', $4::timestamptz), $3, $5, 80, 3, 1, 0, 70),
              ($1, date_trunc('hour', $2::timestamptz), $6, $5, 10, 0, 0, 0, 10)`,
      [projectId, h1, r1, h2, env, r2],
    );
    await db.pool.query(
      `INSERT INTO session_user_hourly (project_id, hour, release_id, environment_id, did_hash, crashed)
       SELECT $1, date_trunc('hour', $2::timestamptz), $3, $4, d, d = 1 FROM generate_series(1, 4) d`,
      [projectId, h1, r1, env],
    );
    // the same users again in the next hour, none crashed: still 4 users over the period, 1 crashed
    await db.pool.query(
      `INSERT INTO session_user_hourly (project_id, hour, release_id, environment_id, did_hash, crashed)
       SELECT $1, date_trunc('hour', $2::timestamptz), $3, $4, d, false FROM generate_series(1, 4) d`,
      [projectId, h2, r1, env],
    );
    const page = await getPage(server, '/projects/health-check/releases?period=24h', cookie);
    const row = (name: string) => {
      const m = new RegExp(`<tr class="release-row">\\s*<td class="mono">${name}</td>([\\s\\S]*?)</tr>`).exec(page);
      if (!m) throw new Error(`no row for ${name}`);
      return [...m[1]!.matchAll(/<td class="num">(?:<strong>)?([^<]*)/g)].map((x) => x[1]);
    };
    // crash-free sessions, crash-free users, sessions, crashed, errored, users
    expect(row('shop@1.0.0').slice(0, 6)).toEqual(['98.5%', '75.0%', '200', '3', '8', '4']);
    expect(row('shop@2.0.0&lt;script&gt;').slice(0, 6)).toEqual(['100%', '—', '10', '0', '0', '0']);
    expect(page).not.toContain('shop@2.0.0<script>');
    expect(page).toContain('<title>Releases · Health &lt;Check&gt; · crash-cache</title>');
  });
});

describe('outcomes page', () => {
  it('totals what was dropped by outcome, reason and category', async () => {
    const hour = new Date(Math.floor(Date.now() / 3600_000) * 3600_000);
    const before = new Date(hour.getTime() - 3600_000);
    await db.pool.query(
      `INSERT INTO outcome (project_id, hour, outcome, reason, category, quantity) VALUES
         ($1, $2, 'rate_limited', 'project_rate_limit', 'error', 7), ($1, $3, 'rate_limited', 'project_rate_limit', 'error', 5),
         ($1, $2, 'too_large', 'MAX_EVENT_BYTES', 'error', 1)`,
      [projectId, hour, before],
    );
    await db.pool.query(`INSERT INTO client_report_hourly (project_id, hour, reason, category, quantity) VALUES ($1, $2, 'before_send', 'error', 2)`, [projectId, hour]);
    const page = await getPage(server, '/projects/health-check/outcomes', cookie);
    const summary = page.slice(0, page.indexOf('<h2>By hour</h2>'));
    const rows = [...summary.matchAll(/<tr><td><span class="mono">(\w+)<\/span>.*?<td class="mono">([^<]*)<\/td><td class="mono">([^<]*)<\/td><td class="num">(\d+)/g)].map((m) => m.slice(1).join(' '));
    expect(rows).toEqual(['rate_limited project_rate_limit error 12', 'client_discard before_send error 2', 'too_large MAX_EVENT_BYTES error 1']);
    // items archived but not analysed, and items the digest refused, with their reasons
    await db.pool.query(`INSERT INTO item_count_hourly (project_id, hour, category, items, bytes) VALUES ($1, $2, 'transaction', 3, 4096)`, [projectId, hour]);
    await db.pool.query(`INSERT INTO item_invalid (project_id, archive_id, item_index, received_at, item_type, reason) VALUES ($1, 1, 0, now(), 'event', 'not JSON: <unexpected end>')`, [projectId]);
    const again = await getPage(server, '/projects/health-check/outcomes', cookie);
    expect(again).toContain('<td class="mono">transaction</td><td class="num">3</td><td class="num">4,096</td>');
    expect(again).toContain('<td class="mono">event</td><td>not JSON: &lt;unexpected end&gt;</td>');
  });
});

describe('grouping page', () => {
  it('saves a project\'s rules, and refuses a line it cannot read without saving anything', async () => {
    const page = await getPage(server, '/projects/health-check/grouping', cookie);
    const csrf = hidden(page, '_csrf');
    const bad = await postForm(server, '/projects/health-check/grouping', { _csrf: csrf, fingerprinting: 'error.type:Timeout -> timeouts\nnot a rule', enhancements: '' }, cookie);
    expect(bad.status).toBe(400);
    const badPage = await bad.text();
    expect(badPage).toContain('fingerprintingRules line 2');
    // what was typed is kept in the form
    expect(badPage).toContain('error.type:Timeout -&gt; timeouts');
    // a glob over the complexity caps (src/grouping/glob.ts) is refused the same way
    const slow = await postForm(server, '/projects/health-check/grouping', { _csrf: csrf, fingerprinting: '', enhancements: `stack.function:${'*a'.repeat(17)}*b -app` }, cookie);
    expect(slow.status).toBe(400);
    expect(await slow.text()).toContain('groupingEnhancements line 1: function: pattern has more than 16 wildcards');
    const rules = async () => (await db.pool.query('SELECT fingerprinting_rules, grouping_enhancements FROM project WHERE id = $1', [projectId])).rows[0];
    expect(await rules()).toEqual({ fingerprinting_rules: '', grouping_enhancements: '' });
    const ok = await postForm(server, '/projects/health-check/grouping', { _csrf: csrf, fingerprinting: 'error.type:Timeout -> timeouts', enhancements: 'module:app.logging -group' }, cookie);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/projects/health-check/grouping?saved=1');
    expect(await rules()).toEqual({ fingerprinting_rules: 'error.type:Timeout -> timeouts', grouping_enhancements: 'module:app.logging -group' });
    expect(await getPage(server, '/projects/health-check/grouping?saved=1', cookie)).toContain('module:app.logging -group</textarea>');
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createToken } from '../../src/api/tokens.js';
import { attachDictionaries } from '../../src/archive/dictionary-load.js';
import { decodePayload, type ArchiveRow } from '../../src/digest/payload.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { startReceiver, type Receiver } from '../alerts/receiver.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { UNDIGESTED_SQL } from '../helpers/db.js';
import { cli } from '../helpers/server.js';
import { until } from '../digest/worker-process.js';
import { getPage, hidden, logIn, postForm } from '../ui/web.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// The invariant of data scrubbing, end to end with the official @sentry/node SDK sending an error full
// of secrets (sdk-secrets.mjs) to the running server: with the default settings, none of them can be
// read afterwards through the API, the web UI, the webhook, the database (every table, and every
// archived payload decoded) — and still none after `crash-cache-cli ruminate` re-digested the archive.
// A second project with scrubbing switched off through the API gets the same event, and there the
// same searches find the secrets: the searches can see what they look for.

const run = promisify(execFile);
const SECRETS = ['Zq8', '4111 1111 1111 1111', '4111111111111111', '5555555555554444'];
const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

let app: TestApp;
let receiver: Receiver;
let token: string;
let open: { id: number; slug: string };

const q = async (sql: string, values: unknown[] = []) => (await app.db.pool.query(sql, values)).rows;
const api = async (path: string, init: RequestInit = {}) => {
  const r = await fetch(`${app.server.url}/api/0/${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  return { status: r.status, text: await r.text() };
};

async function sendWithSdk(projectId: number): Promise<string> {
  const dsn = `http://${(await q('SELECT public_key FROM project_key WHERE project_id = $1', [projectId]))[0].public_key}@127.0.0.1:${app.server.port}/${projectId}`;
  const { stdout } = await run(process.execPath, [join(PACKAGE_ROOT, 'test', 'scrub', 'sdk-secrets.mjs')], { cwd: PACKAGE_ROOT, env: { ...process.env, DSN: dsn }, timeout: 30_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  expect(out.flushed).toBe(true);
  return String(out.eventId).replace(/-/g, '');
}

async function digested(): Promise<void> {
  await until(async () => (await q(UNDIGESTED_SQL))[0].n === 0, 60_000, 'the digest');
}

/** Every row of every table as text, and every archived payload decoded. */
async function databaseText(projectId?: number): Promise<string> {
  const tables = (await q("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).map((r) => r.tablename as string);
  let out = '';
  for (const t of tables) {
    const scoped = projectId !== undefined && (await q("SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = 'project_id'", [t])).length;
    const rows = await q(`SELECT coalesce(string_agg(t::text, E'\\n'), '') AS s FROM "${t}" t${scoped ? ` WHERE project_id = ${projectId}` : ''}`);
    out += `${t}: ${rows[0].s}\n`;
  }
  const archive = await q(`SELECT project_id::int, id::int, kind, encoding, event_id, received_at, meta, payload, dict_id::int FROM archive${projectId !== undefined ? ` WHERE project_id = ${projectId}` : ''}`) as ArchiveRow[];
  await attachDictionaries(app.db.pool, archive);
  for (const a of archive) out += decodePayload(a, 100 << 20).toString('utf8');
  // bytea columns print as hex above: the archive dictionaries (made of payloads) as text.
  for (const d of await q(`SELECT bytes FROM archive_dict${projectId !== undefined ? ` WHERE project_id = ${projectId}` : ''}`)) out += (d.bytes as Buffer).toString('utf8');
  return out;
}

beforeAll(async () => {
  receiver = await startReceiver();
  app = await startApp('Shop', { ALERT_RETRY_SECS: '0', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' });
  token = (await createToken(app.db.pool, 'scrub-test')).token;
  await q('INSERT INTO alert_rule (project_id, webhook_url) VALUES ($1, $2)', [app.projectId, receiver.url]);
  const { project } = await createProject(app.db.pool, { name: 'Open' });
  open = { id: project.id, slug: project.slug };
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

describe('with the default settings', () => {
  let eventId: string;
  let issueId: number;

  test('the SDK event is digested into an issue whose title keeps its words but not the secrets', async () => {
    eventId = await sendWithSdk(app.projectId);
    await digested();
    const [issue] = await q('SELECT id::int, title FROM issue WHERE project_id = $1', [app.projectId]);
    issueId = issue.id;
    expect(issue.title).toBe('Error: payment failed for card [Filtered] (password=[Filtered])');
  });

  test('the webhook carries no secret', async () => {
    await until(async () => receiver.received.length >= 1, 30_000, 'the webhook POST');
    const body = JSON.stringify(receiver.received[0]!.body);
    expect(body).toContain('payment failed for card [Filtered]');
    expect(leaks(body)).toEqual([]);
  });

  test('the API shows [Filtered] and Sentry-style _meta remarks, and no secret', async () => {
    const ev = await api(`projects/crash-cache/shop/events/${eventId}/`);
    expect(ev.status).toBe(200);
    expect(leaks(ev.text)).toEqual([]);
    const j = JSON.parse(ev.text);
    expect(j.context).toEqual({ password: '[Filtered]', api_key: '[Filtered]' });
    const request = j.entries.find((e: { type: string }) => e.type === 'request').data;
    expect(request.headers).toEqual(expect.arrayContaining([['Authorization', '[Filtered]'], ['Cookie', '[Filtered]'], ['User-Agent', 'shop-client/2.0']]));
    expect(request.query).toEqual([['step', 'pay'], ['sentry_key', '[Filtered]']]);
    expect(j._meta.extra.password['']).toEqual({ rem: [['@password:filter', 's', 0, 10]], len: 10 });
    expect(j.tags).toEqual(expect.arrayContaining([{ key: 'auth_token', value: '[Filtered]' }]));
    for (const path of [`issues/${issueId}/events/latest/`, `projects/crash-cache/shop/issues/`, `issues/${issueId}/`]) {
      const r = await api(path);
      expect(r.status, path).toBe(200);
      expect(leaks(r.text), path).toEqual([]);
    }
  });

  test('the web UI says values were filtered, and shows no secret', async () => {
    await createUser(app.db.pool, 'ops@example.com', 'correct horse battery');
    const cookie = await logIn(app.server, 'ops@example.com', 'correct horse battery');
    for (const path of [`/issues/${issueId}`, '/projects/shop/issues']) {
      const page = await getPage(app.server, path, cookie);
      expect(leaks(page), path).toEqual([]);
    }
    const page = await getPage(app.server, `/issues/${issueId}`, cookie);
    expect(page).toMatch(/Data scrubbing filtered \d+ values of this event/);
    expect(page).toContain('<code>@password:filter</code>');
    expect(page).toContain('<span class="filtered" title="Removed by data scrubbing">[Filtered]</span>');
  });

  test('the database holds no secret: no table, no archived payload', async () => {
    expect(leaks(await databaseText(app.projectId))).toEqual([]);
    expect(await q("SELECT kind, encoding FROM archive WHERE project_id = $1", [app.projectId])).toEqual([{ kind: 'envelope', encoding: 'br' }]);
  });

  test('after ruminate re-digested the (scrubbed) archive: the same event, still no secret', async () => {
    await cli(['ruminate', '--yes'], { DATABASE_URL: app.db.url });
    await digested();
    expect(await q('SELECT title FROM issue WHERE project_id = $1', [app.projectId])).toEqual([{ title: 'Error: payment failed for card [Filtered] (password=[Filtered])' }]);
    const ev = await api(`projects/crash-cache/shop/events/${eventId}/`);
    expect(ev.status).toBe(200);
    expect(JSON.parse(ev.text).context).toEqual({ password: '[Filtered]', api_key: '[Filtered]' });
    expect(leaks(ev.text)).toEqual([]);
    expect(leaks(await databaseText(app.projectId))).toEqual([]);
  });
});

describe('project settings in the API', () => {
  test("GET shows Sentry's fields with the defaults; PUT checks and stores them", async () => {
    const get = JSON.parse((await api('projects/crash-cache/shop/')).text);
    expect(get).toMatchObject({ dataScrubber: true, dataScrubberDefaults: true, sensitiveFields: [], safeFields: [], scrubIPAddresses: false });
    for (const [body, detail] of [
      [{ dataScrubber: 'no' }, 'dataScrubber must be true or false'],
      [{ sensitiveFields: 'email' }, 'sensitiveFields must be a list of strings'],
      [{ safeFields: Array.from({ length: 101 }, (_, i) => `f${i}`) }, 'safeFields has 101 entries; at most 100 (SCRUB_MAX_FIELDS)'],
      [{ sensitiveFields: ['x'.repeat(201)] }, 'sensitiveFields: an entry is longer than 200 characters (SCRUB_MAX_FIELD_CHARS)'],
    ] as const) {
      const r = await api('projects/crash-cache/shop/', { method: 'PUT', body: JSON.stringify(body) });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text)).toEqual({ detail });
    }
    const put = await api('projects/crash-cache/shop/', { method: 'PUT', body: JSON.stringify({ sensitiveFields: [' order_ref ', '', 'order_ref'], scrubIPAddresses: true }) });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.text)).toMatchObject({ dataScrubber: true, sensitiveFields: ['order_ref'], safeFields: [], scrubIPAddresses: true });
  });

  test('the web UI form shows and changes the same settings', async () => {
    const cookie = await logIn(app.server, 'ops@example.com', 'correct horse battery');
    const page = await getPage(app.server, '/projects/shop/scrubbing', cookie);
    expect(page).toContain('name="scrubIPAddresses" value="1" checked');
    expect(page).toContain('order_ref</textarea>');
    const csrf = hidden(page, '_csrf');
    const settings = async () => (await q('SELECT data_scrubber, data_scrubber_defaults, sensitive_fields, safe_fields, scrub_ip_addresses FROM project WHERE slug = $1', ['shop']))[0];
    const before = await settings();
    const bad = await postForm(app.server, '/projects/shop/scrubbing', { _csrf: csrf, dataScrubber: '1', safeFields: 'x'.repeat(201) }, cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('safeFields: an entry is longer than 200 characters (SCRUB_MAX_FIELD_CHARS)');
    expect(await settings()).toEqual(before);
    const ok = await postForm(app.server, '/projects/shop/scrubbing', { _csrf: csrf, dataScrubber: '1', dataScrubberDefaults: '1', sensitiveFields: 'order_ref\r\ninvoice\n', safeFields: 'auth_method' }, cookie);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/projects/shop/scrubbing?saved=1');
    expect(await settings()).toEqual({ data_scrubber: true, data_scrubber_defaults: true, sensitive_fields: ['order_ref', 'invoice'], safe_fields: ['auth_method'], scrub_ip_addresses: false });
  });

  test('with scrubbing switched off, the same searches find the secrets (they are not blind)', async () => {
    const put = await api(`projects/crash-cache/${open.slug}/`, { method: 'PUT', body: JSON.stringify({ dataScrubber: false }) });
    expect(JSON.parse(put.text)).toMatchObject({ dataScrubber: false });
    // No event of this project was digested before: the digest reads its settings with its first batch.
    const eventId = await sendWithSdk(open.id);
    await digested();
    const ev = await api(`projects/crash-cache/${open.slug}/events/${eventId}/`);
    const planted = ['Zq8', '4111 1111 1111 1111', '5555555555554444'];
    expect(leaks(ev.text)).toEqual(expect.arrayContaining(planted));
    expect(leaks(await databaseText(open.id))).toEqual(expect.arrayContaining(planted));
  });
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { send } from '../ingest/http.js';
import { parseEnvelope } from '../../src/protocol/envelope.js';
import { createProject } from '../../src/storage/projects.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { until } from '../helpers/poll.js';

// The read API's extras against the real server, fed with real SDK payloads from the SDK
// fixtures: an event's attachments (sent with the event and in a later envelope), user feedback
// (feedback item and legacy user_report), cron monitors and check-ins, accepted counts in stats_v2.
// Plus three ingest gaps Relay covers: POST /api/store/ without a project id, the GET image-pixel
// store, and CORS headers on every ingest answer.

const FIXTURES = SDK_PAYLOADS;
const fixture = (p: string) => readFileSync(join(FIXTURES, p));
const KEY = 'c'.repeat(32);

let db: TestDatabase;
let server: RunningServer;
let token: string;
let projectId: number;

async function api(path: string): Promise<Response> {
  return fetch(`${server.url}/api/0${path}`, { headers: { authorization: `Bearer ${token}` } });
}
async function json<T = any>(path: string): Promise<T> {
  const r = await api(path);
  expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
  return (await r.json()) as T;
}

async function postEnvelope(body: Buffer | string) {
  const r = await send(`${server.url}/api/${projectId}/envelope/?sentry_version=7&sentry_key=${KEY}`, { body });
  expect(r.status, r.text).toBe(200);
  return r;
}

/** Waits until nothing is queued: every payload sent so far has been digested. */
async function digested() {
  await until('the digest to drain the queue', async () => (await db.pool.query<{ n: number }>(UNDIGESTED_SQL)).rows[0]!.n, (n) => n === 0);
}

const EVENT_WITH_ATTACHMENT = fixture('node/node11_exception_with_attachment.envelope');
const EVENT_ID = '2ea8bce4c16e44f88a8c80b92cd9b881';
const LATER_BYTES = Buffer.from([0, 1, 2, 255, 10, 13, 10, 0x7b, 0x7d, 0x89, 0x50, 0x4e, 0x47]);
const FEEDBACK_EVENT = '7ed46b7b071f4e9eae5c9540f6ea0035';

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' };
  const p = await createProject(db.pool, { name: 'shop', key: KEY, platform: 'node' });
  projectId = p.project.id;
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'extras'], env))![1]!;
  server = await startServer({ ...env, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });

  await postEnvelope(EVENT_WITH_ATTACHMENT);
  // The same event's second attachment, in an envelope of its own (as SDKs may send it later).
  const header = Buffer.from(`{"event_id":"${EVENT_ID}"}\n{"type":"attachment","length":${LATER_BYTES.length},"filename":"later snapshot.bin","content_type":"application/octet-stream"}\n`);
  await postEnvelope(Buffer.concat([header, LATER_BYTES, Buffer.from('\n')]));
  // The error the feedback is about, through POST /api/store/ (no project id: the key names it).
  const store = await send(`${server.url}/api/store/`, {
    headers: { 'x-sentry-auth': `Sentry sentry_key=${KEY}, sentry_version=7`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: FEEDBACK_EVENT, message: 'save failed', platform: 'node', level: 'error' }),
  });
  expect(store.status, store.text).toBe(200);
  expect(store.json).toEqual({ id: FEEDBACK_EVENT });
  await postEnvelope(fixture('node/node11_feedback.envelope'));
  await postEnvelope(fixture('dart-flutter/flutter_user_report.envelope'));
  await postEnvelope(fixture('node/node11_checkin_in_progress.envelope'));
  await postEnvelope(fixture('node/node11_checkin_ok.envelope'));
  // A check-in finished with the all-zero id: it updates the monitor's latest in-progress one.
  const ci = (body: object) => `{}\n{"type":"check_in"}\n${JSON.stringify(body)}\n`;
  await postEnvelope(ci({ check_in_id: 'aa'.repeat(16), monitor_slug: 'hourly-sync', status: 'in_progress', monitor_config: { schedule: { type: 'interval', value: 2, unit: 'hour' } } }));
  await postEnvelope(ci({ check_in_id: '0'.repeat(32), monitor_slug: 'hourly-sync', status: 'error', duration: 3.25 }));
  // One without check_in_id (nothing to update later): a check-in of its own.
  await postEnvelope(ci({ monitor_slug: 'adhoc', status: 'ok', duration: 1 }));
  await postEnvelope(fixture('node/node8_transaction.envelope'));
  await digested();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('event attachments', () => {
  const base = () => `/projects/acme/shop/events/${EVENT_ID}/attachments/`;
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
  const sameEnvelopeBytes = () => parseEnvelope(EVENT_WITH_ATTACHMENT).items.find((i) => i.headers.type === 'attachment')!.payload;

  it('lists attachments from the event envelope and from a later one, with size, type and sha1', async () => {
    const list = await json<any[]>(base());
    expect(list.map((a) => a.name)).toEqual(['debug.txt', 'later snapshot.bin']);
    const [a, b] = list;
    expect(a).toMatchObject({ event_id: EVENT_ID, type: 'event.attachment', mimetype: 'text/plain', size: sameEnvelopeBytes().length, sha1: sha1(sameEnvelopeBytes()), headers: { 'Content-Type': 'text/plain' } });
    expect(b).toMatchObject({ mimetype: 'application/octet-stream', size: LATER_BYTES.length, sha1: sha1(LATER_BYTES) });
    expect(Date.parse(a.dateCreated)).toBeGreaterThan(Date.now() - 600_000);
    expect(a.id).toMatch(/^\d+$/);
    expect((await json<any[]>(`${base()}?query=later`)).map((x) => x.name)).toEqual(['later snapshot.bin']);
  });

  it('downloads the exact bytes with content-type and content-disposition; metadata without download', async () => {
    const list = await json<any[]>(base());
    for (const [att, bytes] of [[list[0], sameEnvelopeBytes()], [list[1], LATER_BYTES]] as const) {
      const r = await api(`${base()}${att.id}/?download=1`);
      expect(r.status).toBe(200);
      expect(Buffer.from(await r.arrayBuffer()).equals(bytes)).toBe(true);
      expect(r.headers.get('content-type')).toBe(att.mimetype);
      expect(r.headers.get('content-disposition')).toBe(`attachment; filename="${att.name}"`);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(await json(`${base()}${list[1].id}/`)).toEqual(list[1]);
  });

  it('404 for an attachment of another event, an unknown one, and an event without any', async () => {
    const id = (await json<any[]>(base()))[0].id;
    expect((await api(`/projects/acme/shop/events/${'f'.repeat(32)}/attachments/${id}/?download=1`)).status).toBe(404);
    expect((await api(`${base()}999999/?download=1`)).status).toBe(404);
    expect(await json(`/projects/acme/shop/events/${FEEDBACK_EVENT}/attachments/`)).toEqual([]);
    expect((await api(`/projects/acme/nope/events/${EVENT_ID}/attachments/`)).status).toBe(404);
  });
});

describe('user feedback', () => {
  it('lists feedback items and legacy user reports, linked to the issue of their event when it is known', async () => {
    const list = await json<any[]>('/projects/acme/shop/user-feedback/');
    expect(list.map((f) => f.comments)).toEqual(['bad stuff', 'The save button did nothing']);
    const [legacy, fb] = list;
    expect(legacy).toMatchObject({ eventID: 'bdd63725a2b84c1eabd761106e17d390', name: 'jonas', email: 'a@b.com', issue: null });
    expect(fb).toMatchObject({ eventID: FEEDBACK_EVENT, name: 'Jane Doe', email: 'jane@example.com', event: { eventID: FEEDBACK_EVENT } });
    expect(fb.issue).toMatchObject({ title: 'save failed', shortId: expect.stringMatching(/^SHOP-\d+$/) });
    expect(Date.parse(fb.dateCreated)).toBeGreaterThan(Date.now() - 600_000);
  });

  it("shows an issue's feedback at issues/{id}/user-reports/, and pages with a cursor", async () => {
    const issueId = (await json<any[]>('/projects/acme/shop/user-feedback/'))[1].issue.id;
    const reports = await json<any[]>(`/issues/${issueId}/user-reports/`);
    expect(reports.map((r) => r.comments)).toEqual(['The save button did nothing']);
    expect((await json<any>(`/issues/${issueId}/`)).userReportCount).toBe(1);
    const first = await api('/projects/acme/shop/user-feedback/?limit=1');
    expect(((await first.json()) as any[]).map((f) => f.comments)).toEqual(['bad stuff']);
    const next = /<([^>]+)>; rel="next"; results="true"/.exec(first.headers.get('link')!)![1]!;
    const page2 = (await (await fetch(server.url + new URL(next).pathname + new URL(next).search, { headers: { authorization: `Bearer ${token}` } })).json()) as any[];
    expect(page2.map((f) => f.comments)).toEqual(['The save button did nothing']);
  });
});

describe('cron monitors', () => {
  it('lists monitors with their config, last and next check-in', async () => {
    const list = await json<any[]>('/organizations/acme/monitors/');
    expect(list.map((m) => m.slug)).toEqual(['adhoc', 'hourly-sync', 'nightly-report']);
    const nightly = list[2];
    expect(nightly).toMatchObject({
      name: 'nightly-report',
      status: 'active',
      type: 'cron_job',
      project: { slug: 'shop' },
      config: { schedule_type: 'crontab', schedule: '0 3 * * *', checkin_margin: 5, max_runtime: 30, timezone: 'Europe/Vienna' },
    });
    expect(nightly.environments).toHaveLength(1);
    const env = nightly.environments[0];
    expect(env).toMatchObject({ name: 'fixtures', status: 'ok' });
    // The next 03:00 in Vienna after the last check-in, and the margin after it.
    const last = Date.parse(env.lastCheckIn);
    const next = Date.parse(env.nextCheckIn);
    expect(next).toBeGreaterThan(last);
    expect(next - last).toBeLessThanOrEqual(86_400_000);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Vienna', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next)).toBe('03:00');
    expect(Date.parse(env.nextCheckInLatest) - next).toBe(5 * 60_000);
    expect(nightly.lastCheckIn).toBe(env.lastCheckIn);

    expect(list[0].config).toMatchObject({ schedule_type: null, schedule: null });
    expect(list[0].environments[0]).toMatchObject({ status: 'ok', nextCheckIn: null });
    const hourly = list[1];
    expect(hourly.config).toMatchObject({ schedule_type: 'interval', schedule: [2, 'hour'] });
    expect(hourly.environments[0]).toMatchObject({ name: 'production', status: 'error' });
    expect(Date.parse(hourly.environments[0].nextCheckIn)).toBe(Math.floor(Date.parse(hourly.environments[0].lastCheckIn) / 60_000) * 60_000 + 2 * 3_600_000);
    expect(await json(`/organizations/acme/monitors/${hourly.id}/`)).toEqual(hourly);
    expect(await json(`/organizations/acme/monitors/?project=${projectId + 1000}`)).toEqual([]);
  });

  it('lists check-ins: in_progress then ok is one check-in with the final status and duration in ms', async () => {
    for (const path of ['/organizations/acme/monitors/nightly-report/checkins/', '/projects/acme/shop/monitors/nightly-report/checkins/']) {
      const list = await json<any[]>(path);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ id: 'da2a0287-e626-47b7-af60-c08a89f39b64', status: 'ok', duration: 12500, environment: 'fixtures', monitorConfig: { schedule: { type: 'crontab', value: '0 3 * * *' } } });
      expect(Date.parse(list[0].dateCreated)).toBeGreaterThan(Date.now() - 600_000);
    }
    const sync = await json<any[]>('/organizations/acme/monitors/hourly-sync/checkins/');
    expect(sync).toEqual([expect.objectContaining({ id: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', status: 'error', duration: 3250 })]);
    const adhoc = await json<any[]>('/organizations/acme/monitors/adhoc/checkins/');
    expect(adhoc).toEqual([expect.objectContaining({ id: expect.stringMatching(/^00000000-0000-0000-0000-[0-9a-f]{12}$/), status: 'ok', duration: 1000 })]);
    expect((await api('/organizations/acme/monitors/nope/checkins/')).status).toBe(404);
    expect((await api('/projects/acme/nope/monitors/nightly-report/checkins/')).status).toBe(404);
  });
});

describe('stats_v2 accepted counts', () => {
  const stats = async (extra: string) => {
    const q = `field=sum(quantity)&groupBy=outcome&groupBy=category&statsPeriod=1d&interval=1h&project=${projectId}${extra}`;
    const res = await json<{ groups: { by: { outcome: string; category: string }; totals: { 'sum(quantity)': number }; series: { 'sum(quantity)': number[] } }[] }>(`/organizations/acme/stats_v2/?${q}`);
    return Object.fromEntries(res.groups.filter((g) => g.by.outcome === 'accepted').map((g) => [g.by.category, g.totals['sum(quantity)']]));
  };

  it('counts every category the digest kept, as outcome accepted', async () => {
    const size = parseEnvelope(EVENT_WITH_ATTACHMENT).items.find((i) => i.headers.type === 'attachment')!.payload.length + LATER_BYTES.length;
    const accepted = await stats('');
    expect(accepted).toMatchObject({ error: 2, transaction: 1, attachment: size, attachment_item: 2, monitor: 5, feedback: 1, user_report_v2: 1 });
    expect(await stats('&category=transaction')).toEqual({ transaction: 1 });
    expect(await stats('&outcome=rate_limited')).toEqual({});
  });
});

describe('ingest gaps', () => {
  const pixelUrl = (data: string, key = KEY) => `${server.url}/api/${projectId}/store/?sentry_data=${encodeURIComponent(data)}&sentry_key=${key}&sentry_version=7`;

  it('GET store with sentry_data answers a 1×1 GIF and stores the event (JSON or base64 zlib)', async () => {
    const ids = ['1'.repeat(32), '2'.repeat(32)];
    const plain = await send(pixelUrl(JSON.stringify({ event_id: ids[0], message: 'pixel plain' })), { method: 'GET' });
    const packed = await send(pixelUrl(deflateSync(JSON.stringify({ event_id: ids[1], message: 'pixel packed' })).toString('base64')), { method: 'GET' });
    for (const r of [plain, packed]) {
      expect(r.status, r.text).toBe(200);
      expect(r.headers['content-type']).toBe('image/gif');
      expect(r.text.startsWith('GIF89a')).toBe(true);
      expect(r.headers['access-control-allow-origin']).toBe('*');
    }
    await digested();
    for (const [id, msg] of [[ids[0], 'pixel plain'], [ids[1], 'pixel packed']] as const) {
      expect((await json(`/projects/acme/shop/events/${id}/`)).message).toBe(msg);
    }
    const missing = await send(`${server.url}/api/${projectId}/store/?sentry_key=${KEY}`, { method: 'GET' });
    expect(missing.status).toBe(400);
    expect(missing.json.detail).toMatch(/sentry_data/);
    expect((await send(pixelUrl('{"message":"x"}', 'd'.repeat(32)), { method: 'GET' })).status).toBe(401);
  });

  it('POST /api/store/ finds the project from the key, and refuses a key of a disabled project', async () => {
    const other = await createProject(db.pool, { name: 'frozen' });
    await db.pool.query('UPDATE project SET disabled = true WHERE id = $1', [other.project.id]);
    const post = (key: string | null) =>
      send(`${server.url}/api/store/`, { headers: key ? { 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7` } : {}, body: '{"message":"no project id"}' });
    const frozen = await post(other.key.public_key);
    expect(frozen.status).toBe(403);
    expect(frozen.json.detail).toMatch(/disabled/);
    expect((await post('e'.repeat(32))).status).toBe(401);
    expect((await post(null)).status).toBe(401);
    const ok = await post(KEY);
    expect(ok.status, ok.text).toBe(200);
    const { rows } = await db.pool.query('SELECT project_id FROM archive WHERE event_id = $1::uuid', [ok.json.id]);
    expect(rows).toEqual([{ project_id: projectId }]);
  });

  it('every ingest answer carries CORS headers, 404 and 405 included; the read API does not', async () => {
    const origin = { origin: 'https://app.example' };
    const answers = [
      await send(`${server.url}/api/${projectId}/envelope/`, { method: 'GET', headers: origin }), // 405
      await send(`${server.url}/api/${projectId}/envelope/`, { method: 'PUT', headers: origin, body: '{}' }), // 405
      await send(`${server.url}/api/${projectId}/nothing-here/`, { headers: origin, body: '{}' }), // 404, no such endpoint
      await send(`${server.url}/api/999999/envelope/?sentry_key=${KEY}`, { headers: origin, body: '{}' }), // 404, no such project
      await send(`${server.url}/api/store/`, { headers: origin, body: '{}' }), // 401
    ];
    expect(answers.map((a) => a.status)).toEqual([405, 405, 404, 404, 401]);
    for (const a of answers) {
      expect(a.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(a.headers['access-control-expose-headers']).toContain('x-sentry-error');
      expect(a.json.detail).toBeTruthy();
    }
    const apiAnswer = await send(`${server.url}/api/0/nothing-here/`, { method: 'GET', headers: origin });
    expect(apiAnswer.status).toBe(404);
    expect(apiAnswer.headers['access-control-allow-origin']).toBeUndefined();
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, vi, describe, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { digestBatch } from '../../src/digest/batch.js';
import { DimCache } from '../../src/digest/dims.js';
import { loadEvent } from '../../src/digest/load-event.js';
import { loadAttachment } from '../../src/digest/attachments.js';
import { parseEnvelope } from '../../src/protocol/envelope.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { enqueue, fixtureCorpus, type Fixture } from './archive.js';
import { describeShared } from '../helpers/shared.js';

// Generous limits: CI machines are shared and slow at times; nothing here waits on a clock.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// The whole SDK corpus through the digest: every event fixture becomes a report carrying the
// fields the fixture has; the other item types land in their tables; broken items and payloads
// are recorded with their reason.

type J = Record<string, any>;
let db: TestDatabase;
let projectId: number;
const corpus = fixtureCorpus();
const archiveIdOf = new Map<string, number>();

/** The event payloads of a fixture (store body, or event items of an envelope), raw. */
function rawEvents(f: Fixture): J[] {
  if (f.payload.kind === 'store') {
    const j = JSON.parse(f.payload.body.toString('utf8'));
    return j.type === 'transaction' ? [] : [j];
  }
  if (f.payload.kind !== 'envelope') return [];
  let env;
  try {
    env = parseEnvelope(f.payload.body);
  } catch {
    return [];
  }
  const out: J[] = [];
  for (const it of env.items) {
    if (it.headers.type !== 'event') continue;
    try {
      out.push({ ...JSON.parse(it.payload.toString('utf8')), __envelope_id: env.headers.event_id });
    } catch {
      /* the deliberately broken one */
    }
  }
  return out;
}

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'fixtures' })).project.id;
  const ids = await enqueue(db.pool, projectId, corpus.map((f) => f.payload), { gzip: true });
  corpus.forEach((f, i) => archiveIdOf.set(f.name, ids[i]!));
  const client = await db.pool.connect();
  try {
    for (;;) {
      const r = await digestBatch(client, { batchSize: 50, maxBytes: 100 * 1024 * 1024, cache: new DimCache() });
      if (!r.claimed) break;
    }
  } finally {
    client.release();
  }
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

test('the queue is empty and only the payload that cannot be framed is in queue_error', async () => {
  expect((await db.pool.query('SELECT count(*)::int AS n FROM queue')).rows[0].n).toBe(0);
  const { rows } = await db.pool.query('SELECT archive_id, error FROM queue_error');
  expect(rows).toEqual([{ archive_id: archiveIdOf.get('android/sentry_java_session_bad_length.envelope'), error: expect.stringContaining('declared length 85') }]);
});

test('the event item that is not JSON is recorded as invalid, and its attachments are still stored', async () => {
  const aid = archiveIdOf.get('android/sentry_java_event_attachments.envelope')!;
  const { rows } = await db.pool.query('SELECT item_index, item_type, reason FROM item_invalid WHERE archive_id = $1', [aid]);
  expect(rows).toEqual([{ item_index: 0, item_type: 'event', reason: expect.stringContaining('not valid JSON') }]);
  const att = await db.pool.query('SELECT filename, attachment_type FROM attachment WHERE archive_id = $1 ORDER BY item_index', [aid]);
  expect(att.rows.length).toBe(2);
  expect(att.rows.map((r) => r.attachment_type)).toContain('event.minidump');
});

describe('every event fixture becomes a report with its fields', () => {
  const seen = new Set<string>();
  const cases = corpus.flatMap((f) => rawEvents(f).map((raw, i) => {
    const id = String(raw.__envelope_id ?? raw.event_id ?? '').replace(/-/g, '').toLowerCase();
    // Two fixtures share an event id: the later one is a retry of the same event, not a second report.
    const retry = /^[0-9a-f]{32}$/.test(id) && seen.has(id);
    seen.add(id);
    return { name: `${f.name}#${i}`, f, raw, retry, id };
  }));
  test('there are event fixtures from every platform folder with events', () => {
    // Every folder of the corpus but these has events (security: CSP and other reports, stored as
    // events by their own route and tested in security tests).
    const WITHOUT_EVENTS = ['security'];
    const folders = readdirSync(SDK_PAYLOADS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect([...new Set(cases.map((c) => c.f.name.split('/')[0]!))].sort()).toEqual(folders.filter((d) => !WITHOUT_EVENTS.includes(d)));
    expect(cases.length).toBeGreaterThanOrEqual(55);
  });
  test('two fixtures repeat an event id of another (retries)', () => {
    expect(cases.filter((c) => c.retry).length).toBe(2);
  });
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, { f, raw, retry, id }) => {
    const { rows } = await db.pool.query<J>(
      `SELECT rv.*, replace(rv.event_id::text, '-', '') AS eid FROM report_view rv JOIN report r ON r.project_id = rv.project_id AND r.id = rv.id
        WHERE r.archive_id = $1`, [archiveIdOf.get(f.name)]);
    if (retry) {
      expect(rows.length).toBe(0);
      expect((await db.pool.query('SELECT count(*)::int AS n FROM report WHERE event_id = $1', [id])).rows[0].n).toBe(1);
      return;
    }
    expect(rows.length).toBe(1);
    const r = rows[0]!;
    const rawId = String(raw.__envelope_id ?? raw.event_id ?? '').replace(/-/g, '').toLowerCase();
    if (/^[0-9a-f]{32}$/.test(rawId)) expect(r.eid).toBe(rawId);
    expect(r.platform).toBe(raw.platform ? String(raw.platform).toLowerCase() : 'other');
    expect(r.level).toBe(raw.level ? String(raw.level).toLowerCase().replace(/^warn$/, 'warning') : 'error');
    if (typeof raw.release === 'string' && raw.release) expect(r.release).toBe(raw.release);
    if (typeof raw.environment === 'string' && raw.environment) expect(r.environment).toBe(raw.environment);
    const sdk = raw.sdk ?? null;
    if (sdk?.name) expect(r.sdk_name).toBe(sdk.name);
    if (sdk?.version) expect(r.sdk_version).toBe(sdk.version);
    const user = raw.user ?? raw['sentry.interfaces.User'];
    if (user?.id !== undefined && user.id !== null && user.id !== '') expect(r.user).toBe(`id:${user.id}`);
    const exc = raw.exception ?? raw['sentry.interfaces.Exception'];
    const values: J[] = Array.isArray(exc) ? exc : Array.isArray(exc?.values) ? exc.values : exc && typeof exc === 'object' ? [exc] : [];
    const top = values[values.length - 1];
    if (top?.type) expect(r.exception_type).toBe(String(top.type));
    if (typeof top?.value === 'string' && top.value) expect(r.exception_value).toBe(top.value.trim().slice(0, 1024));
    const le = raw.logentry ?? (typeof raw.message === 'object' ? raw.message : null);
    const msg = le?.formatted ?? (typeof raw.message === 'string' ? raw.message : null);
    if (typeof msg === 'string' && msg.trim()) expect(r.message).toBe(msg.trim().slice(0, 1024));
    // The event's own tags are all attached to the report.
    const pairs: [string, unknown][] = Array.isArray(raw.tags) ? raw.tags : Object.entries(raw.tags ?? {});
    if (pairs.length) {
      const tags = await db.pool.query<{ key: string; value: string }>('SELECT key, value FROM report_tag_view WHERE project_id = $1 AND report_id = $2', [projectId, r.id]);
      const got = new Map(tags.rows.map((t) => [t.key, t.value]));
      for (const [k, v] of pairs) if (v !== null && v !== '' && String(k).trim()) expect(got.get(String(k).trim())).toBe(String(v).trim());
    }
    // loadEvent rebuilds the whole event from the archive.
    const ev = await loadEvent(db.pool, projectId, r.eid);
    expect(ev?.event_id).toBe(r.eid);
    if (top) expect((ev!.exception as J).values.length).toBe(values.length);
  });
});

describeShared('sentry-normalized', 'title and culprit as Sentry stored them', (normalized) => {
  const readme = readFileSync(join(normalized, 'README.md'), 'utf8');
  const pairs = [...readme.matchAll(/^\| (\S+\.sentry-stored\.json) \| (\S+) \|$/gm)].map((m) => [m[1]!, m[2]!] as const);
  // The stored twin of js_error_with_context comes from a different capture than the raw file
  // (its frames differ), so only its title is comparable.
  // small_js_error_source's culprit was resolved through a source map (src/index), which we do not apply.
  const culpritDiffers = new Set(['javascript-browser/glitchtip_js_error_with_context.json', 'javascript-browser/glitchtip_small_js_error_source.json']);
  test('there are 13 pairs', () => expect(pairs.length).toBe(13));
  test.each(pairs)('%s', async (stored, rawName) => {
    const s = JSON.parse(readFileSync(join(normalized, stored), 'utf8')) as J;
    const { rows } = await db.pool.query<J>(
      `SELECT i.title, i.culprit, i.metadata, i.type FROM report r JOIN issue i ON i.project_id = r.project_id AND i.id = r.issue_id WHERE r.archive_id = $1`,
      [archiveIdOf.get(rawName)]);
    expect(rows.length).toBe(1);
    expect(rows[0]!.title).toBe(s.title);
    expect(rows[0]!.type).toBe(s.type);
    if (!culpritDiffers.has(rawName)) {
      expect(rows[0]!.culprit).toBe(s.culprit);
      if (s.metadata.type) expect(rows[0]!.metadata.type).toBe(s.metadata.type);
      if (s.metadata.value) expect(rows[0]!.metadata.value).toBe(s.metadata.value);
    }
  });
});

test('sessions, client reports, check-ins, user feedback, unprocessed items and attachments land in their tables', async () => {
  const q = async (sql: string, p: unknown[] = []) => (await db.pool.query(sql, p)).rows;
  // node11_client_report: one discarded error (before_send)
  expect(await q("SELECT reason, category, quantity::int AS quantity FROM client_report_hourly WHERE reason = 'before_send'")).toEqual([{ reason: 'before_send', category: 'error', quantity: 1 }]);
  const slugs = (await q('SELECT DISTINCT monitor_slug FROM check_in')).map((r) => r.monitor_slug);
  expect(slugs.length).toBeGreaterThanOrEqual(3);
  const fb = await q("SELECT kind, comments, email FROM user_report WHERE kind = 'feedback' ORDER BY comments");
  expect(fb.map((r) => r.comments)).toContain('Pay button does nothing');
  const ur = await q("SELECT event_id FROM user_report WHERE kind = 'user_report'");
  expect(ur.length).toBe(1);
  const counts = new Map((await q('SELECT category, sum(items)::int AS n FROM item_count_hourly GROUP BY 1')).map((r) => [r.category, r.n]));
  expect(counts.get('transaction')).toBeGreaterThanOrEqual(10);
  expect(counts.get('span')).toBeGreaterThanOrEqual(1);
  expect(counts.get('log_item')).toBeGreaterThanOrEqual(2);
  const totals = await q('SELECT sum(total)::int AS total FROM session_hourly');
  expect(totals[0].total).toBeGreaterThanOrEqual(4);
  // The PNG attachment comes back byte for byte.
  const png = await q("SELECT id FROM attachment WHERE content_type = 'image/png'");
  expect(png.length).toBe(1);
  const a = await loadAttachment(db.pool, projectId, png[0].id);
  expect(a!.data.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(a!.data.length).toBe(a!.meta.size);
  // The minidump endpoint payload: a fatal native event and the dump as attachment.
  const md = await q(`SELECT rv.platform, rv.level FROM report_view rv JOIN report r ON r.project_id = rv.project_id AND r.id = rv.id WHERE r.archive_id = $1`, [archiveIdOf.get('native/sentry_native_minidump.dmp')]);
  expect(md).toEqual([{ platform: 'native', level: 'fatal' }]);
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { listOutcomes, outcomeTotals } from '../../src/outcomes/index.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { enqueue } from './archive.js';

// An item only the digest can find broken (an event whose JSON does not parse) is accepted at ingest,
// then shows up as an 'invalid' outcome with its reason — nothing is dropped silently. A store body
// is such an item too: ingest checks only that it is one JSON object (protocol/json.ts).

let app: TestApp;

beforeAll(async () => {
  app = await startApp('invalid');
});
afterAll(async () => {
  await app?.close();
});

describe('invalid items as outcomes', () => {
  it('an event item with broken JSON is counted as invalid with its reason, and makes no report', async () => {
    const { db, projectId } = app;
    const body = readFileSync(join(SDK_PAYLOADS, 'android', 'sentry_java_event_attachments.envelope'));
    const r = await fetch(`${app.server.url}/api/${projectId}/envelope/?sentry_key=${app.key}&sentry_version=7`, { method: 'POST', body });
    expect(r.status).toBe(200);
    const invalid = await waitFor(async () => (await listOutcomes(db.pool, { projectId })).filter((o) => o.outcome === 'invalid'));
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ category: 'error', quantity: 1 });
    expect(invalid[0]!.reason).toMatch(/JSON/i);
    expect((await outcomeTotals(db.pool)).invalid).toBe(1);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM report WHERE project_id = $1', [projectId]);
    expect(rows[0]!.n).toBe(0);
  });

  it('a store body that is one object but not JSON inside is accepted, then counted as invalid', async () => {
    const { db, projectId } = app;
    const id = 'c0ffee00'.repeat(4);
    const r = await fetch(`${app.server.url}/api/${projectId}/store/`, { method: 'POST', headers: { 'x-sentry-auth': app.auth }, body: `{"event_id":"${id}","message":"m","extra":{"a":tru}}` });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ id });
    const invalid = await waitFor(async () => (await listOutcomes(db.pool, { projectId })).filter((o) => o.outcome === 'invalid' && /store body/.test(o.reason)));
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ category: 'error', quantity: 1 });
    expect(invalid[0]!.reason).toMatch(/store body is not valid JSON/);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM queue_error');
    expect(rows[0].n).toBe(0);
  });

  it('a store body or event item with bare NaN and Infinity (Python SDKs) becomes an event', async () => {
    const { db, projectId } = app;
    const id = 'bada55e5'.repeat(4);
    const r = await fetch(`${app.server.url}/api/${projectId}/store/`, { method: 'POST', headers: { 'x-sentry-auth': app.auth }, body: `{"event_id":"${id}","message":"ratio","extra":{"r":NaN,"max":Infinity,"min":-Infinity}}` });
    expect(r.status).toBe(200);
    const envId = 'feedf00d'.repeat(4);
    const env = `{"event_id":"${envId}"}\n{"type":"event"}\n{"event_id":"${envId}","message":"ratio","extra":{"r":NaN}}\n`;
    const e = await fetch(`${app.server.url}/api/${projectId}/envelope/?sentry_key=${app.key}&sentry_version=7`, { method: 'POST', body: env });
    expect(e.status).toBe(200);
    const reports = await waitFor(async () => (await db.pool.query('SELECT event_id FROM report WHERE project_id = $1 AND event_id = ANY($2::uuid[]) ORDER BY event_id', [projectId, [id, envId]])).rows, 2);
    expect(reports).toHaveLength(2);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM queue_error');
    expect(rows[0].n).toBe(0);
  });

  it('a payload the digest cannot read at all is counted as invalid in its endpoint category', async () => {
    const { db, projectId } = app;
    const before = (await outcomeTotals(db.pool)).invalid ?? 0;
    // Framing ingest would refuse, put straight into the archive and queue: the digest's own judgement.
    const body = Buffer.from('{"event_id":"' + 'ab'.repeat(16) + '"}\n{"type":"event","length":500}\n{}\n');
    const [archiveId] = await enqueue(db.pool, projectId, [{ kind: 'envelope', body }]);
    await db.pool.query('NOTIFY crash_cache_queue');
    const invalid = await waitFor(async () => (await listOutcomes(db.pool, { projectId })).filter((o) => o.outcome === 'invalid' && o.category === 'default'));
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ quantity: 1 });
    expect(invalid[0]!.reason).toMatch(/envelope/);
    const { rows } = await db.pool.query('SELECT archive_id FROM queue_error');
    expect(rows).toEqual([{ archive_id: String(archiveId) }]);
    expect((await outcomeTotals(db.pool)).invalid).toBe(before + 1);
  });
});

/** Polls `read` (every 100 ms, up to 20 s) until it returns at least `n` rows. */
async function waitFor<T>(read: () => Promise<T[]>, n = 1): Promise<T[]> {
  let out: T[] = [];
  for (let i = 0; i < 200 && out.length < n; i++) {
    out = await read();
    if (out.length < n) await new Promise((res) => setTimeout(res, 100));
  }
  return out;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { listOutcomes, outcomeTotals } from '../../src/outcomes/index.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';

// An item only the digest can find broken (an event whose JSON does not parse) is accepted at ingest,
// then shows up as an 'invalid' outcome with its reason — nothing is dropped silently.

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
    let invalid: Awaited<ReturnType<typeof listOutcomes>> = [];
    for (let i = 0; i < 200 && invalid.length === 0; i++) {
      invalid = (await listOutcomes(db.pool, { projectId })).filter((o) => o.outcome === 'invalid');
      if (!invalid.length) await new Promise((res) => setTimeout(res, 100));
    }
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ category: 'error', quantity: 1 });
    expect(invalid[0]!.reason).toMatch(/JSON/i);
    expect((await outcomeTotals(db.pool)).invalid).toBe(1);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM report WHERE project_id = $1', [projectId]);
    expect(rows[0]!.n).toBe(0);
  });
});

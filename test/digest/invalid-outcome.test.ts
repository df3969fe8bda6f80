import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { listOutcomes, outcomeTotals } from '../../src/outcomes/index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

// An item only the digest can find broken (an event whose JSON does not parse) is accepted at ingest,
// then shows up as an 'invalid' outcome with its reason — nothing is dropped silently.

let db: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  db = await freshDatabase();
  server = await startServer({ DATABASE_URL: db.url, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('invalid items as outcomes', () => {
  it('an event item with broken JSON is counted as invalid with its reason, and makes no report', async () => {
    const { project, key } = await createProject(db.pool, { name: 'invalid' });
    const body = readFileSync(join(PACKAGE_ROOT, '..', 'shared', 'fixtures', 'sdk-payloads', 'android', 'sentry_java_event_attachments.envelope'));
    const r = await fetch(`${server.url}/api/${project.id}/envelope/?sentry_key=${key.public_key}&sentry_version=7`, { method: 'POST', body });
    expect(r.status).toBe(200);
    let invalid: Awaited<ReturnType<typeof listOutcomes>> = [];
    for (let i = 0; i < 200 && invalid.length === 0; i++) {
      invalid = (await listOutcomes(db.pool, { projectId: project.id })).filter((o) => o.outcome === 'invalid');
      if (!invalid.length) await new Promise((res) => setTimeout(res, 100));
    }
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ category: 'error', quantity: 1 });
    expect(invalid[0]!.reason).toMatch(/JSON/i);
    expect((await outcomeTotals(db.pool)).invalid).toBe(1);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM report WHERE project_id = $1', [project.id]);
    expect(rows[0]!.n).toBe(0);
  });
});

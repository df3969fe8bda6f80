import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { parseEnvelope } from '../../src/protocol/envelope.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { storedBytes } from './stored.js';

// The official @sentry/node SDK (11.12.0), unmodified, pointed at a running server by its DSN alone:
// an exception, a message and a session land in the archive and the queue.

const run = promisify(execFile);

const SCRIPT = `
import * as Sentry from '@sentry/node';
Sentry.init({ dsn: process.env.DSN, release: 'sdk-test@1.0.0', environment: 'test', tracesSampleRate: 0, defaultIntegrations: false,
  integrations: [Sentry.linkedErrorsIntegration(), Sentry.contextLinesIntegration()] });
const exceptionId = Sentry.captureException(new Error('sdk test exception'));
const messageId = Sentry.captureMessage('sdk test message', 'warning');
Sentry.startSession();
Sentry.captureSession();
Sentry.endSession();
const flushed = await Sentry.close(10000);
console.log(JSON.stringify({ exceptionId, messageId, flushed }));
`;

let db: TestDatabase;
let server: RunningServer;
let dsn: string;

beforeAll(async () => {
  db = await freshDatabase();
  const { project, key } = await createProject(db.pool, { name: 'sdk' });
  server = await startServer({ DATABASE_URL: db.url, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' }, ['--no-worker']);
  dsn = `http://${key.public_key}@127.0.0.1:${server.port}/${project.id}`;
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('@sentry/node 11.12.0', () => {
  it('sends an exception, a message and a session that land in archive and queue', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: PACKAGE_ROOT, env: { ...process.env, DSN: dsn }, timeout: 30_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { exceptionId: string; messageId: string; flushed: boolean };
    expect(out.flushed).toBe(true);

    const { rows } = await db.pool.query(
      `SELECT a.project_id, a.dict_id, a.event_id::text AS event_id, a.encoding, a.payload, a.meta, EXISTS (SELECT 1 FROM queue q WHERE q.archive_id = a.id) AS queued
         FROM archive a WHERE a.kind = 'envelope'`,
    );
    const byId = new Map(rows.filter((r) => r.event_id).map((r) => [r.event_id.replace(/-/g, ''), r]));
    for (const id of [out.exceptionId, out.messageId]) {
      expect(byId.get(id), `event ${id} archived`).toBeDefined();
      expect(byId.get(id).queued).toBe(true);
      expect(byId.get(id).meta.sentry_client).toBe('sentry.javascript.node/11.12.0');
    }
    const itemTypes: string[] = [];
    for (const r of rows) itemTypes.push(...parseEnvelope(await storedBytes(db.pool, r)).items.map((i) => i.headers.type));
    expect(itemTypes).toContain('session');
    expect(itemTypes.filter((t) => t === 'event')).toHaveLength(2);
    expect(rows.every((r) => r.queued)).toBe(true);
  });
});

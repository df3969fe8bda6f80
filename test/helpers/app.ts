import { createProject } from '../../src/storage/projects.js';
import { freshDatabase, type TestDatabase } from './db.js';
import { startServer, type RunningServer } from './server.js';

// The usual start of an end-to-end test file: a fresh database with one project, and the built server
// running on it. Rate limits are off unless `env` sets them: these tests are about other things.

export interface TestApp {
  db: TestDatabase;
  server: RunningServer;
  projectId: number;
  key: string;
  /** X-Sentry-Auth header value for the project's key. */
  auth: string;
  close(): Promise<void>;
}

export const NO_RATE_LIMITS = { RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' };

export async function startApp(name: string, env: Record<string, string> = {}, args: string[] = []): Promise<TestApp> {
  const db = await freshDatabase();
  const { project, key } = await createProject(db.pool, { name });
  const server = await startServer({ DATABASE_URL: db.url, ...NO_RATE_LIMITS, ...env }, args);
  return {
    db,
    server,
    projectId: project.id,
    key: key.public_key,
    auth: `Sentry sentry_key=${key.public_key}, sentry_version=7`,
    async close() {
      await server.stop();
      await db.drop();
    },
  };
}

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../src/paths.js';
import { createProject } from '../src/storage/projects.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { cli } from './helpers/server.js';

// Settings as a real process start reads them: `.env` in the working directory gives what the
// environment does not, and the environment wins (README "Configuration"); the CLI without
// DATABASE_URL starts the embedded PostgreSQL of DATA_DIR for its command and stops it again.

let db: TestDatabase;
const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The environment of the test process without the settings a test gives through `.env`. */
function envWithout(names: string[], extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const n of names) delete env[n];
  return env;
}

it('.env in the working directory supplies settings, and the environment wins over it', async () => {
  const { project, key } = await createProject(db.pool, { name: 'dotenv' });
  const cwd = tmp('cc-dotenv-');
  writeFileSync(join(cwd, '.env'), [
    '# read by the server at start',
    `DATABASE_URL=${db.url}`,
    'ORGANIZATION_SLUG=from-dotenv',
    'PUBLIC_URL="http://dotenv.example:9000"',
    'SERVER_HOST=127.0.0.1',
    'SERVER_PORT=0',
    'RATE_LIMIT_PER_IP_PER_SEC=0',
  ].join('\n'));
  const env = envWithout(['DATABASE_URL', 'PUBLIC_URL', 'SERVER_HOST', 'SERVER_PORT', 'DATA_DIR'], { ORGANIZATION_SLUG: 'from-env', LOG_LEVEL: 'info' });
  const proc = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'crash-cache'), '--no-worker'], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      proc.stderr!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /"msg":"listening".*?"port":(\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    // DATABASE_URL from .env: the project made in that database takes events
    const r = await fetch(`${url}/api/${project.id}/store/`, { method: 'POST', headers: { 'x-sentry-auth': `Sentry sentry_key=${key.public_key}, sentry_version=7`, 'content-type': 'application/json' }, body: JSON.stringify({ message: 'from a .env server' }) });
    expect(r.status, await r.clone().text()).toBe(200);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM archive WHERE project_id = $1', [project.id])).rows[0].n).toBe(1);
    // ORGANIZATION_SLUG: the environment's; PUBLIC_URL: the .env file's (in the key's DSN)
    const token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'dotenv'], { DATABASE_URL: db.url }))![1]!;
    const orgs = (await (await fetch(`${url}/api/0/organizations/`, { headers: { authorization: `Bearer ${token}` } })).json()) as { slug: string }[];
    expect(orgs.map((o) => o.slug)).toEqual(['from-env']);
    const keys = (await (await fetch(`${url}/api/0/projects/from-env/dotenv/keys/`, { headers: { authorization: `Bearer ${token}` } })).json()) as { dsn: { public: string } }[];
    expect(keys[0]!.dsn.public).toBe(`http://${key.public_key}@dotenv.example:9000/${project.id}`);
  } finally {
    await new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }
}, 90_000);

it('the CLI starts the embedded PostgreSQL of DATA_DIR when no server runs, and stops it after', async () => {
  const dataDir = tmp('cc-cli-embedded-');
  chmodSync(dataDir, 0o755); // run as root, PostgreSQL runs as another user, who must enter DATA_DIR
  const env = { DATA_DIR: dataDir, DATABASE_URL: '', EMBEDDED_PG_PORT: '0', PUBLIC_URL: 'http://errors.example.com' };
  const created = await cli(['project', 'create', '--name', 'Offline'], env);
  expect(created).toMatch(/DSN: http:\/\/[0-9a-f]{32}@errors\.example\.com\/1\b/);
  // the cluster was made in DATA_DIR and is not left running
  expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
  expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  // a second command starts it again and finds what the first stored
  expect(await cli(['project', 'list'], env)).toMatch(/^1\toffline\t/m);
  expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
}, 180_000);

import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { VERSION } from '../../src/version.js';

// Installs crash-cache the way an operator does — `npm pack`, then the tarball into an empty
// directory — and runs it from there, not from the checkout: `npx crash-cache` and
// `npx crash-cache-cli` answer --version and --help, create a project, and the server (with its
// embedded PostgreSQL under ./data, the documented default) accepts an event. Needs the npm
// registry (or npm's cache) for the dependencies, as any install does.

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'cc-pack-'));
// As root, the embedded PostgreSQL runs as `postgres`, which must be able to enter the data's parents.
chmodSync(dir, 0o755);
const app = join(dir, 'app');
const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
delete env.DATABASE_URL;
delete env.DATA_DIR;
const npx = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  exec('npx', ['--no-install', ...args], { cwd: app, env: { ...env, ...extra }, timeout: 120_000 });
let server: ReturnType<typeof spawn> | null = null;

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    process.kill(-server.pid!, 'SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('installs from its tarball into an empty directory and runs with npx', { timeout: 400_000 }, async () => {
    // dist/ is built by `npm test`; --ignore-scripts packs it as it is.
    const packed = JSON.parse((await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: PACKAGE_ROOT, env, timeout: 120_000 })).stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/src/server/main.js');
    expect(files).toContain('migrations/0001_init.sql');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/') && f.endsWith('.ts'))).toBe(false);
    mkdirSync(app);
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed[0]!.filename)], { cwd: app, env, timeout: 300_000 });

    expect((await npx(['crash-cache', '--version'])).stdout.trim()).toBe(VERSION);
    expect((await npx(['crash-cache-cli', '--version'])).stdout.trim()).toBe(VERSION);
    expect((await npx(['crash-cache', '--help'])).stdout).toMatch(/^usage: crash-cache/);
    expect((await npx(['crash-cache-cli', '--help'])).stdout).toMatch(/^usage: crash-cache-cli[\s\S]*project create/);
    const bad = await npx(['crash-cache', 'worker', '--no-worker']).then(() => null, (e: { code: number }) => e);
    expect(bad?.code).toBe(2);

    const created = (await npx(['crash-cache-cli', 'project', 'create', '--name', 'packed'])).stdout;
    const dsn = new URL(/DSN: (\S+)/.exec(created)![1]!);
    expect(existsSync(join(app, 'data', 'pg', 'PG_VERSION'))).toBe(true);

    server = spawn('npx', ['--no-install', 'crash-cache'], {
      cwd: app, env: { ...env, SERVER_HOST: '127.0.0.1', SERVER_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      server!.stderr!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /"msg":"listening".*?"port":(\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      server!.once('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)));
    });
    const projectId = dsn.pathname.slice(1);
    const eventId = 'c0ffee00'.repeat(4);
    const r = await fetch(`http://127.0.0.1:${port}/api/${projectId}/store/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${dsn.username}` },
      body: JSON.stringify({ event_id: eventId, message: 'from the packed install', platform: 'node' }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ id: eventId });
  });
});

import { mkdtempSync, rmSync, statSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postmasterPidFile, startEmbedded, type EmbeddedHandle } from '../../src/storage/embedded.js';
import { APP_DB, APP_ROLE, credentialsPath, ensureAppDatabase, LEGACY_PASSWORD, readCredentials, SUPERUSER, urlFor } from '../../src/storage/embedded-auth.js';
import { migrate } from '../../src/storage/migrate.js';

// The embedded PostgreSQL listens on 127.0.0.1, where any local account can reach it: nothing may
// rest on a password everyone knows (issue 18.1). Real clusters, started as the server starts them.

const dirs: string[] = [];
const handles: EmbeddedHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function connectError(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  try {
    await c.connect();
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

async function withClient<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

async function start(dir: string): Promise<EmbeddedHandle> {
  const h = await startEmbedded(dir, 0, () => {});
  handles.push(h);
  return h;
}

/** What a local account without the credentials file can do, and what the application role can. */
async function expectLockedDown(dir: string, h: EmbeddedHandle, appUrl: string) {
  // The password every install shared no longer opens it, for either role.
  expect(await connectError(urlFor(h.port, SUPERUSER, LEGACY_PASSWORD, 'postgres'))).toBe('28P01');
  expect(await connectError(urlFor(h.port, APP_ROLE, LEGACY_PASSWORD, APP_DB))).toBe('28P01');
  // The secrets are readable by the account running crash-cache only.
  expect(statSync(credentialsPath(dir)).mode & 0o777).toBe(0o600);
  const creds = readCredentials(dir)!;
  expect(creds.superuser).not.toBe(creds.app);
  expect(creds.superuser.length).toBeGreaterThanOrEqual(40);
  // The application's role: no superuser, no program execution, no other database.
  expect(new URL(appUrl).username).toBe(APP_ROLE);
  await withClient(appUrl, async (c) => {
    const { rows } = await c.query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>('SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user');
    expect(rows[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
    await expect(c.query("COPY (SELECT 1) TO PROGRAM 'id'")).rejects.toMatchObject({ code: '42501' });
    await expect(c.query("CREATE TEMP TABLE x (t text); COPY x FROM PROGRAM 'id'")).rejects.toMatchObject({ code: '42501' });
    await expect(c.query("SELECT pg_read_file('/etc/passwd')")).rejects.toMatchObject({ code: '42501' });
    // …and owns every table of its database (it can migrate and write them).
    const own = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') AND pg_get_userbyid(c.relowner) <> current_user`);
    expect(own.rows[0]!.n).toBe(0);
    await migrate(c);
    await c.query("INSERT INTO project (name, slug) VALUES ('auth-test', 'auth-test-' || md5(random()::text))");
  });
  expect(await connectError(urlFor(h.port, APP_ROLE, creds.app, 'postgres'))).toBe('42501');
}

describe('embedded PostgreSQL access', () => {
  it('a new cluster has per-cluster secrets and the application connects as a non-superuser owning only its database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-cache-auth-'));
    dirs.push(dir);
    const h = await start(dir);
    expect(h.owned).toBe(true);
    const appUrl = await ensureAppDatabase(h.url, h.credentials);
    await expectLockedDown(dir, h, appUrl);

    // A second process (the CLI) attaches to the running cluster with the same secrets; it never
    // starts a second postmaster on the data directory.
    const pid = postmasterPidFile(h.pgDir)!.pid;
    const h2 = await startEmbedded(dir, 0, () => {});
    expect(h2.owned).toBe(false);
    expect(h2.port).toBe(h.port);
    expect(await h2.restart()).toBe('running');
    expect(postmasterPidFile(h.pgDir)!.pid).toBe(pid);
    expect(await ensureAppDatabase(h2.url, h2.credentials)).toBe(appUrl);
  }, 120_000);

  it('a cluster made with the old fixed password is upgraded on its first start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-cache-auth-legacy-'));
    dirs.push(dir);
    // Make the state an older release left: superuser password `crash-cache`, no credentials file,
    // the crashcache database and all its tables owned by the superuser, no application role.
    const old = await start(dir);
    const oldDb = urlFor(old.port, SUPERUSER, old.credentials.superuser, APP_DB);
    await withClient(old.url, (c) => c.query(`CREATE DATABASE ${APP_DB}`));
    await withClient(oldDb, async (c) => {
      await migrate(c);
      await c.query("INSERT INTO project (name, slug) VALUES ('kept', 'kept')");
    });
    await withClient(old.url, (c) => c.query(`ALTER ROLE ${SUPERUSER} PASSWORD '${LEGACY_PASSWORD}'`));
    unlinkSync(credentialsPath(dir));
    await old.stop();
    handles.splice(handles.indexOf(old), 1);

    const h = await start(dir);
    expect(existsSync(credentialsPath(dir))).toBe(true);
    const appUrl = await ensureAppDatabase(h.url, h.credentials);
    await expectLockedDown(dir, h, appUrl);
    // Nothing was lost in the hand-over.
    const kept = await withClient(appUrl, (c) => c.query("SELECT count(*)::int AS n FROM project WHERE slug = 'kept'"));
    expect(kept.rows[0].n).toBe(1);
  }, 120_000);
});

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../../src/api/tokens.js';
import { pgTool, PgToolError } from '../../src/storage/pg-tools.js';
import { startApp, NO_RATE_LIMITS, type TestApp } from '../helpers/app.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';

// The backup drill: `crash-cache-cli backup` while SDK traffic keeps arriving, `restore` into an
// empty database elsewhere, a server on the restored copy, and the API answers the same there for
// every event acknowledged before the backup began. pg_dump must be as new as the server: the
// embedded PostgreSQL (18) has none beside it here, so this runs where one is installed (CI's run
// against the machine's PostgreSQL) and says why it skips elsewhere.

const dir = mkdtempSync(join(tmpdir(), 'cc-backup-'));
const dropped: string[] = [];
let app: TestApp | null = null;
let restored: RunningServer | null = null;

afterAll(async () => {
  await restored?.stop();
  await app?.close();
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  for (const d of dropped) await admin.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

async function emptyDatabase(): Promise<string> {
  const name = `cc_restore_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  dropped.push(name);
  const u = new URL(inject('pgAdminUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

async function drained(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (let i = 0; i < 1200; i++) {
      const { rows } = await c.query('SELECT (SELECT count(*) FROM queue)::int + (SELECT count(*) FROM issue_delta)::int AS n');
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url}: the digest did not drain`);
  } finally {
    await c.end();
  }
}

describe('backup and restore', () => {
  it('a backup taken under ingest load restores elsewhere with every acknowledged event', { timeout: 300_000 }, async (ctx) => {
    const probe = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await probe.connect();
    const major = Math.floor(Number((await probe.query('SHOW server_version_num')).rows[0].server_version_num) / 10000);
    await probe.end();
    try {
      await pgTool('pg_dump', major, process.env.PG_BIN_DIR);
    } catch (e) {
      if (e instanceof PgToolError) return ctx.skip(`no pg_dump for this PostgreSQL ${major}: ${e.message}`);
      throw e;
    }

    app = await startApp('drill');
    const { token } = await createToken(app.db.pool, 'drill');
    const acked: { id: string; at: number }[] = [];
    let sending = true;
    let n = 0;
    const sender = async () => {
      while (sending) {
        const id = randomBytes(16).toString('hex');
        const i = n++;
        const r = await fetch(`${app!.server.url}/api/${app!.projectId}/store/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-sentry-auth': app!.auth },
          body: JSON.stringify({ event_id: id, platform: 'python', level: 'error', tags: { drill: String(i) },
            exception: { values: [{ type: `DrillError${i % 5}`, value: `event ${i}` }] } }),
        });
        if (r.status === 200) acked.push({ id, at: Date.now() });
      }
    };
    const senders = [sender(), sender(), sender()];
    const file = join(dir, 'drill.dump');
    let before: string[];
    try {
      while (acked.length < 60) await new Promise((r) => setTimeout(r, 20));
      const backupStarted = Date.now();
      before = acked.filter((a) => a.at < backupStarted).map((a) => a.id);
      expect(await cli(['backup', '--out', file], { DATABASE_URL: app.db.url })).toMatch(/Backed up to .*drill\.dump/);
      expect(acked.length, 'events were acknowledged while the backup ran').toBeGreaterThan(before.length);
    } finally {
      sending = false;
      await Promise.all(senders);
    }
    expect(existsSync(file)).toBe(true);
    // A backup never overwrites a file.
    await expect(cli(['backup', '--out', file], { DATABASE_URL: app.db.url })).rejects.toThrow(/exited with 2.*exists/s);

    const target = await emptyDatabase();
    expect(await cli(['restore', file], { DATABASE_URL: target })).toMatch(/Restored/);
    // Only into an empty database.
    await expect(cli(['restore', file], { DATABASE_URL: target })).rejects.toThrow(/exited with 2.*not empty/s);

    restored = await startServer({ DATABASE_URL: target, ...NO_RATE_LIMITS });
    await Promise.all([drained(app.db.url), drained(target)]);
    const get = async (base: string, path: string) => {
      const r = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status, `${base}${path}`).toBe(200);
      return (await r.json()) as Record<string, unknown>;
    };
    expect(before.length).toBeGreaterThanOrEqual(60);
    for (const id of before) {
      const path = `/api/0/projects/crash-cache/drill/events/${id}/`;
      const [a, b] = await Promise.all([get(app.server.url, path), get(restored.url, path)]);
      // Issue ids are assigned by whichever server digested the event; the issue itself must match.
      const strip = ({ groupID: _g, previousEventID: _p, nextEventID: _n, ...rest }: Record<string, unknown>) => rest;
      expect(strip(b)).toEqual(strip(a));
      const [ia, ib] = await Promise.all([get(app.server.url, `/api/0/issues/${a.groupID}/`), get(restored.url, `/api/0/issues/${b.groupID}/`)]);
      expect(ib.title).toBe(ia.title);
    }
  });
});

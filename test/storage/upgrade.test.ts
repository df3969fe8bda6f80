import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';

// Upgrades in place: a database as release 0.1.0 left it (test/fixtures/upgrade/0.1.0.sql, made by
// make.mjs beside it with that release's migrations 0001–0016) is opened by this release, which
// applies its newer migrations; every issue, event and setting reads back as 0.1.0's API showed it.
// And a database carrying a migration this release does not know is refused, saying so.

const FIXTURE = join(PACKAGE_ROOT, 'test', 'fixtures', 'upgrade');
const expected = JSON.parse(readFileSync(join(FIXTURE, '0.1.0.expected.json'), 'utf8')) as {
  migrations: number[]; token: string; key: string; rateLimit: number;
  issues: { id: string; title: string; count: string; status: string; culprit: string }[];
  events: { eventID: string; groupID: string; title: string; dateCreated: string }[];
};
const NO_LIMITS = { RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0' };

const dropped: string[] = [];
let server: RunningServer | null = null;

async function emptyDatabase(): Promise<string> {
  const name = `cc_upgrade_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  dropped.push(name);
  const u = new URL(inject('pgAdminUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

afterAll(async () => {
  await server?.stop();
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  for (const d of dropped) await admin.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
  await admin.end();
});

describe('upgrading a 0.1.0 database in place', () => {
  it('keeps every issue, event and setting, and goes on working', { timeout: 120_000 }, async () => {
    const url = await emptyDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    c.on('error', () => {});
    await c.query(readFileSync(join(FIXTURE, '0.1.0.sql'), 'utf8'));
    await c.query('RESET search_path'); // the dump empties it for its own statements
    expect((await c.query('SELECT version FROM schema_migration ORDER BY version')).rows.map((r) => r.version)).toEqual(expected.migrations);
    await c.end();

    server = await startServer({ DATABASE_URL: url, ...NO_LIMITS });
    const api = async (path: string) => {
      const r = await fetch(server!.url + path, { headers: { authorization: `Bearer ${expected.token}` } });
      expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
      return (await r.json()) as Record<string, unknown>;
    };
    expect(expected.issues.length).toBeGreaterThanOrEqual(10);
    for (const i of expected.issues) expect(await api(`/api/0/issues/${i.id}/`)).toMatchObject(i);
    for (const e of expected.events) expect(await api(`/api/0/projects/crash-cache/upgrade/events/${e.eventID}/`)).toMatchObject(e);

    const check = new pg.Client({ connectionString: url });
    await check.connect();
    const applied = (await check.query('SELECT max(version)::int AS v FROM schema_migration')).rows[0].v as number;
    expect(applied).toBeGreaterThanOrEqual(Math.max(...expected.migrations));
    expect((await check.query('SELECT rate_limit_per_sec FROM project WHERE id = 1')).rows[0].rate_limit_per_sec).toBe(expected.rateLimit);
    // The webhook is kept whole; the CLI shows it without its path (URLs may carry secrets).
    expect((await check.query('SELECT webhook_url FROM alert_rule')).rows).toEqual([{ webhook_url: 'http://127.0.0.1:9/hook' }]);
    await check.end();
    expect(await cli(['alert', 'list'], { DATABASE_URL: url })).toMatch(/webhook\thttp:\/\/127\.0\.0\.1:9\/…/);

    // The upgraded database goes on ingesting and digesting.
    const again = expected.events[0]!;
    const count = async () => Number((await api(`/api/0/issues/${again.groupID}/`)).count);
    const before = await count();
    const stored = await fetch(`${server.url}/api/1/store/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_key=${expected.key}, sentry_version=7` },
      body: JSON.stringify({ event_id: 'f'.repeat(32), platform: 'python', message: 'after the upgrade' }),
    });
    expect(stored.status).toBe(200);
    let digested: { groupID?: string } | null = null;
    for (let i = 0; i < 600 && !digested; i++) {
      const r = await fetch(`${server.url}/api/0/projects/crash-cache/upgrade/events/${'f'.repeat(32)}/`, { headers: { authorization: `Bearer ${expected.token}` } });
      if (r.status === 200) digested = (await r.json()) as { groupID?: string };
      else await new Promise((res) => setTimeout(res, 100));
    }
    expect(digested?.groupID).toMatch(/^\d+$/);
    expect(expected.issues.map((i) => i.id)).not.toContain(digested?.groupID); // a new issue
    expect(await count()).toBe(before); // and the old ones untouched
  });
});

describe('a database newer than this release', () => {
  it('is refused with a clear message', { timeout: 60_000 }, async () => {
    const url = await emptyDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE TABLE schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO schema_migration (version, name) VALUES (9999, '9999_from_the_future.sql')`);
    await c.end();
    const err = await startServer({ DATABASE_URL: url }).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/exited with 1/);
    expect(err?.message).toMatch(/upgraded by a newer crash-cache: it has migration 9999, which this release \(\S+, migrations up to \d{4}\) does not know/);
    // Nothing was applied on top of it.
    const d = new pg.Client({ connectionString: url });
    await d.connect();
    expect((await d.query('SELECT count(*)::int AS n FROM schema_migration')).rows[0].n).toBe(1);
    await d.end();
  });
});

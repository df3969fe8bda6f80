import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli } from '../helpers/server.js';

// crash-cache-cli key …: the same key functions as the API's and the UI's, on real PostgreSQL.

let db: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  db = await freshDatabase();
  env = { DATABASE_URL: db.url };
  await cli(['project', 'create', '--name', 'cli-keys'], env);
});
afterAll(async () => {
  await db.drop();
});

const keys = async () => (await db.pool.query('SELECT public_key, label, disabled, rate_limit_count, rate_limit_window, replaced_by FROM project_key ORDER BY created_at, public_key')).rows;

describe('key commands', () => {
  it('create, update (disable, limit, rename), rotate, list', async () => {
    const created = await cli(['key', 'create', 'cli-keys', '--name', 'Mobile', '--rate-limit', '100/3600'], env);
    const key = created.split('\t')[0]!;
    expect(created).toMatch(/\tactive\t100\/3600s\tMobile\thttp:\/\//);
    expect(await cli(['key', 'update', 'cli-keys', key, '--disable', '--rate-limit', 'none', '--name', 'Old mobile'], env)).toMatch(/\tdisabled\tno limit\tOld mobile\t/);
    await expect(cli(['key', 'create', 'cli-keys', '--rate-limit', '5/100000'], env)).rejects.toThrow(/window must be a whole number of seconds from 0 to 86400/);
    await expect(cli(['key', 'update', 'cli-keys', 'nosuchkey', '--enable'], env)).rejects.toThrow(/no key nosuchkey/);
    await cli(['key', 'update', 'cli-keys', key, '--enable', '--rate-limit', '7/60'], env);
    const rotated = await cli(['key', 'rotate', 'cli-keys', key], env);
    const fresh = rotated.split('\t')[0]!;
    const rows = await keys();
    expect(rows.find((k) => k.public_key === key)).toMatchObject({ disabled: true, replaced_by: fresh, rate_limit_count: 7 });
    expect(rows.find((k) => k.public_key === fresh)).toMatchObject({ disabled: false, label: 'Old mobile', rate_limit_count: 7, rate_limit_window: 60 });
    const listed = (await cli(['key', 'list', 'cli-keys'], env)).trim().split('\n');
    expect(listed).toHaveLength(3);
    expect(listed.map((l) => l.split('\t')[1])).toEqual(rows.map((k) => (k.disabled ? 'disabled' : 'active')));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { cli } from './helpers/server.js';
import { migrate } from '../src/storage/migrate.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('storage', () => {
  it('migrations are applied once, and again is a no-op', async () => {
    const c = await db.pool.connect();
    try {
      expect(await migrate(c)).toEqual([]);
    } finally {
      c.release();
    }
    const { rows } = await db.pool.query('SELECT version FROM schema_migration ORDER BY version');
    expect(rows[0].version).toBe(1);
  });

  it('the CLI creates, lists and deletes projects', async () => {
    const env = { DATABASE_URL: db.url, PUBLIC_URL: 'http://errors.example.com:8000' };
    const out = await cli(['project', 'create', '--name', 'My App', '--key', 'abcdef0123456789abcdef0123456789'], env);
    const m = /DSN: http:\/\/abcdef0123456789abcdef0123456789@errors\.example\.com:8000\/(\d+)/.exec(out);
    expect(m, out).not.toBeNull();
    const id = m![1]!;
    const second = await cli(['project', 'create', '--name', 'My App'], env);
    expect(second).toMatch(/slug my-app-2/);
    expect(await cli(['project', 'list'], env)).toContain('my-app');
    await expect(cli(['project', 'delete', id], env)).rejects.toThrow(/Not deleted/);
    expect(await cli(['project', 'delete', id, '--yes'], env)).toMatch(/Deleted project/);
    expect(await cli(['project', 'list'], env)).not.toContain(`${id}\tmy-app\t`);
  });
});

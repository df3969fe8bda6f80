// What counts as "the database is not there right now" (503 with Retry-After, a digest batch retried
// later) rather than a server error: real connection failures of the pg driver.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { isDatabaseUnavailable } from '../src/http/errors.js';

async function connectError(config: pg.ClientConfig): Promise<unknown> {
  const c = new pg.Client({ ...config, user: 'x', password: 'x', database: 'x', connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
  } catch (e) {
    return e;
  } finally {
    await c.end().catch(() => {});
  }
  throw new Error('connected');
}

test('a stopped server on a Unix socket (its socket file gone) is unavailable, as a refused TCP port is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-nosock-'));
  try {
    const e = await connectError({ host: dir, port: 5432 });
    expect((e as { code?: string }).code).toBe('ENOENT');
    expect(isDatabaseUnavailable(e)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // a port nobody listens on: take a free one and close it
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const refused = await connectError({ host: '127.0.0.1', port });
  expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
  expect(isDatabaseUnavailable(refused)).toBe(true);
});

test('other errors are not', () => {
  expect(isDatabaseUnavailable(Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT', syscall: 'open' }))).toBe(false);
  expect(isDatabaseUnavailable(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }))).toBe(false);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedBuffersMb, startEmbedded, type EmbeddedHandle } from '../../src/storage/embedded.js';
import { ensureAppDatabase } from '../../src/storage/embedded-auth.js';
import { migrate } from '../../src/storage/migrate.js';

// What the embedded PostgreSQL takes of a small box (MEMORY_BUDGET, src/config/settings.ts): a real
// cluster started as the server starts it, and ANALYZE of a real archive table.

const MiB = 1024 * 1024;
let dir: string | null = null;
let handle: EmbeddedHandle | null = null;
afterAll(async () => {
  await handle?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('embedded PostgreSQL memory', () => {
  it('takes an eighth of the budget as shared buffers, 16 to 128 MB', () => {
    expect(sharedBuffersMb(undefined)).toBe(128);
    expect(sharedBuffersMb(470 * MiB)).toBe(58);
    expect(sharedBuffersMb(64 * MiB)).toBe(16);
    expect(sharedBuffersMb(64 * 1024 * MiB)).toBe(128);
  });

  it('starts with those shared buffers, and ANALYZE samples 3,000 archive rows, not 30,000', async () => {
    dir = mkdtempSync(join(tmpdir(), 'crash-cache-memory-'));
    handle = await startEmbedded(dir, 0, () => {}, 256 * MiB);
    const url = await ensureAppDatabase(handle.url, handle.credentials);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]!.shared_buffers).toBe('32MB');
      await migrate(c);
      // 40,000 payloads of 2 KB (kept in the row since migration 0009): enough for the default sample
      const { rows } = await c.query<{ id: number }>("INSERT INTO project (name, slug) VALUES ('memory', 'memory') RETURNING id");
      await c.query(
        `INSERT INTO archive (project_id, sha256, kind, encoding, stored_size, payload)
         SELECT $1, sha256(i::text::bytea), 'envelope', 'identity', 2048, convert_to(repeat(md5(i::text), 64), 'UTF8') FROM generate_series(1, 40000) i`,
        [rows[0]!.id],
      );
      const notices: string[] = [];
      c.on('notice', (n) => notices.push(n.message ?? ''));
      await c.query('ANALYZE VERBOSE archive');
      const sample = notices.map((m) => /(\d+) rows in sample/.exec(m)).find(Boolean);
      expect(sample, notices.join('\n')).toBeTruthy();
      expect(Number(sample![1])).toBe(3000);
      // the planner still knows the table's size from that sample
      const est = await c.query<{ n: number }>("SELECT reltuples::int AS n FROM pg_class WHERE relname = 'archive'");
      expect(est.rows[0]!.n).toBeGreaterThan(36_000);
      expect(est.rows[0]!.n).toBeLessThan(44_000);
    } finally {
      await c.end();
    }
  }, 120_000);
});

// The prepare pool as the worker runs it: real worker threads (the built dist/ files: `npm test`
// compiles first), batches packed into one transferred buffer, dictionaries sent to a thread once
// and forgotten together when the pool's record of them is full (src/digest/prepare-message.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import type { ArchiveRow } from '../../src/archive/row.js';
import type { PreparePool as Pool } from '../../src/digest/prepare-pool.js';
import { DICT_CACHE, packRequest, unpackRequest } from '../../src/digest/prepare-message.js';

const built = new URL('../../dist/src/digest/prepare-pool.js', import.meta.url);
const { PreparePool } = (await import(built.href)) as { PreparePool: typeof Pool };

const id = (n: number) => n.toString(16).padStart(32, '0');
const dictionary = (n: number) => Buffer.from(`{"platform":"python","level":"error","exception":{"values":[{"type":"Dict${n}Error","value":"`.repeat(4));

/** A store payload compressed against dictionary `d` (id d) as ingest stores it, or a plain one when d is null. */
function row(n: number, d: number | null): ArchiveRow {
  const raw = Buffer.from(JSON.stringify({ event_id: id(n), platform: 'python', level: 'error', exception: { values: [{ type: `Dict${d}Error`, value: `boom ${n}` }] } }));
  return {
    project_id: 1, id: n, kind: 'store', event_id: null, received_at: new Date(), meta: {},
    encoding: d === null ? 'identity' : 'deflate-dict', payload: d === null ? raw : deflateRawSync(raw, { dictionary: dictionary(d) }),
    dict_id: d, dict: d === null ? null : dictionary(d),
  };
}

describe('prepare pool', () => {
  let pool: Pool | null = null;
  afterAll(async () => pool?.close());

  it('prepares dictionary-compressed payloads in threads, batch after batch, past the dictionary cache size', async () => {
    expect(existsSync(new URL('../../dist/src/digest/prepare-thread.js', import.meta.url))).toBe(true);
    pool = new PreparePool(2);
    let n = 0;
    // More distinct dictionaries than DICT_CACHE, each used in several batches, so that threads get
    // dictionaries once, reuse them, and reset their cache along the way.
    for (let b = 0; b < 12; b++) {
      const rows = Array.from({ length: 60 }, (_, i) => row(++n, i % 7 === 0 ? null : (b * 31 + i) % (DICT_CACHE + 40)));
      const p = await pool.run(rows, 1 << 20);
      expect(p.failed).toEqual([]);
      expect(p.extras.invalid).toEqual([]);
      expect(p.events.map((e) => e.ev.event_id)).toEqual(rows.map((r) => id(r.id)));
      expect(p.events.map((e) => e.fields.exceptionValue)).toEqual(rows.map((r) => `boom ${r.id}`));
    }
  });

  it('fails a payload whose dictionary is missing with the reason, not the batch', async () => {
    pool ??= new PreparePool(1);
    // dictionary 100000 was never loaded (not in the table): the row arrives without its bytes
    const rows = [row(1000, 5), { ...row(1001, 100_000), dict: null }];
    const p = await pool.run(rows, 1 << 20);
    expect(p.failed).toEqual([{ projectId: 1, archiveId: 1001, error: expect.stringContaining('dictionary was not loaded') }]);
    expect(p.events.map((e) => e.ev.event_id)).toEqual([id(1000)]);
  });
});

describe('prepare pool threads (WORKER_THREADS_IDLE_SECS)', () => {
  it('start with the first batch, stop after idleMs without one, and start again for the next', async () => {
    const idle = new PreparePool(1, undefined, 200);
    try {
      expect(idle.running).toBe(0);
      const first = await idle.run([row(2000, null), row(2001, 3)], 1 << 20);
      expect(first.events.map((e) => e.ev.event_id)).toEqual([id(2000), id(2001)]);
      expect(idle.running).toBe(1);
      for (let i = 0; i < 300 && idle.running > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(idle.running).toBe(0);
      // A new thread holds no dictionary yet: the pool sends it again with the batch.
      const again = await idle.run([row(2002, 3)], 1 << 20);
      expect(again.failed).toEqual([]);
      expect(again.events.map((e) => e.fields.exceptionValue)).toEqual(['boom 2002']);
      expect(idle.running).toBe(1);
    } finally {
      await idle.close();
    }
  });
});

describe('prepare request packing', () => {
  it('sends each dictionary once, copies it out of the batch buffer, and resets at DICT_CACHE', () => {
    const sent = new Set<number>();
    const cache = new Map<number, Buffer>();
    const first = packRequest(1, [row(1, 1), row(2, 1), row(3, 2), row(4, null)], sent, 1 << 20, {});
    expect(first.dicts.map((d) => d.id)).toEqual([1, 2]);
    const rows1 = unpackRequest(first, cache);
    expect(rows1.map((r) => r.payload.equals(row(r.id, null).payload) || r.encoding === 'deflate-dict')).toEqual([true, true, true, true]);
    expect(cache.get(1)!.buffer).not.toBe(first.bytes);
    const second = packRequest(2, [row(5, 1), row(6, 3)], sent, 1 << 20, {});
    expect(second.dicts.map((d) => d.id)).toEqual([3]);
    expect(unpackRequest(second, cache).map((r) => r.dict?.equals(dictionary(r.dict_id!)))).toEqual([true, true]);
    for (let d = 10; sent.size < DICT_CACHE; d++) sent.add(d);
    const third = packRequest(3, [row(7, 1)], sent, 1 << 20, {});
    expect(third.resetDicts).toBe(true);
    expect(third.dicts.map((d) => d.id)).toEqual([1]);
    expect(unpackRequest(third, cache)[0]!.dict!.equals(dictionary(1))).toBe(true);
    expect([...cache.keys()]).toEqual([1]);
  });
});

import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressForStorage, compressSmallForStorage, decompressBounded, decompressSmall } from '../../src/ingest/codec.js';
import { DecompressionLimitError } from '../../src/protocol/compression.js';

// The synchronous attempt of the fast path: bodies up to 64 KB are decompressed at once, but never
// past 1 MiB of output; a larger output goes to the thread pool with the real limit.

describe('ingest codec', () => {
  it('decompresses a 40 KB gzip body at once', () => {
    const raw = Buffer.from(randomBytes(30_000).toString('base64'));
    const gz = gzipSync(raw);
    expect(gz.length).toBeGreaterThan(16 * 1024);
    expect(gz.length).toBeLessThan(64 * 1024);
    expect(decompressSmall(gz, 'gzip', 1024 * 1024)).toEqual(raw);
  });

  it('stops a small bomb at 1 MiB synchronously, and at the limit off the event loop', async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    // Limit within the synchronous cap: refused at once.
    expect(() => decompressSmall(bomb, 'gzip', 1024 * 1024)).toThrow(DecompressionLimitError);
    // Limit above it: not done synchronously; the thread pool enforces the real limit.
    expect(decompressSmall(bomb, 'gzip', 100 * 1024 * 1024)).toBeNull();
    await expect(decompressBounded(bomb, 'gzip', 8 * 1024 * 1024)).rejects.toBeInstanceOf(DecompressionLimitError);
    expect((await decompressBounded(bomb, 'gzip', 100 * 1024 * 1024)).length).toBe(16 * 1024 * 1024);
  });

  it('leaves bodies over 64 KB to the thread pool', async () => {
    const gz = gzipSync(randomBytes(70_000));
    expect(decompressSmall(gz, 'gzip', 1024 * 1024)).toBeNull();
    expect((await decompressBounded(gz, 'gzip', 1024 * 1024)).length).toBe(70_000);
  });

  it('compresses for storage at once up to 64 KB, and either way as brotli', async () => {
    const small = Buffer.from('{"message":"x"}'.repeat(1000));
    const large = Buffer.from('{"message":"y"}'.repeat(10_000));
    expect(brotliDecompressSync(compressSmallForStorage(small)!)).toEqual(small);
    expect(compressSmallForStorage(large)).toBeNull();
    expect(brotliDecompressSync(await compressForStorage(large))).toEqual(large);
  });
});

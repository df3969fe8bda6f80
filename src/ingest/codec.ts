import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { decompressSync, DecompressionError, DecompressionLimitError, NATIVE_ZSTD, zstdDecoder, type Encoding } from '../protocol/compression.js';

// Bounded decompression and storage compression for the fast path, off the event loop when large.
//
// Small bodies are handled synchronously: a thread-pool hop costs more than the work (gunzip of a
// 3.3 KB body is ~15 µs). A small body may still be a bomb, so the synchronous attempt is capped at
// SYNC_MAX_OUTPUT (~1 ms of inflate); when the output is larger the body is decompressed again on the
// thread pool with the real limit. That cap, not the input size, bounds the time on the event loop,
// so inputs up to 64 KB go the synchronous way (16 KB sent the bench's 20 KB gzip bodies, ~1% of
// requests, to the pool: ~2.5% of ingest's busy time in callbacks). The handler does synchronous
// work at once when a MAX_CONCURRENT_COMPRESSIONS slot is free, without the semaphore's promises.
// zstd goes the same way where node:zlib decodes it (NATIVE_ZSTD: Node ≥ 24). On Node 22 fzstd (pure JS)
// does, which cannot leave the event loop, so zstd bodies over 16 KB are fed to it ZSTD_STEP bytes at a
// time, yielding in between.

const SYNC_MAX_INPUT = 64 * 1024;
const ZSTD_SYNC_MAX_INPUT = 16 * 1024;
const SYNC_MAX_OUTPUT = 1024 * 1024;
const ZSTD_STEP = 64 * 1024;

const gunzipAsync = promisify(zlib.gunzip);
const inflateAsync = promisify(zlib.inflate);
const inflateRawAsync = promisify(zlib.inflateRaw);
const brotliDecompressAsync = promisify(zlib.brotliDecompress);
// Absent before Node 22.15 (below the floor, where NATIVE_ZSTD is false and fzstd decodes).
const zstdDecompressAsync = typeof zlib.zstdDecompress === 'function' ? promisify(zlib.zstdDecompress) : null;
const brotliCompressAsync = promisify(zlib.brotliCompress);

function mapError(e: unknown, encoding: Encoding, limit: number): Error {
  if (e instanceof DecompressionLimitError || e instanceof DecompressionError) return e;
  if (e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return new DecompressionLimitError(limit);
  return new DecompressionError(`invalid ${encoding} data: ${(e as Error).message}`);
}

async function decompressAsync(buf: Buffer, encoding: 'gzip' | 'deflate' | 'br' | 'zstd', limit: number): Promise<Buffer> {
  const opts = { maxOutputLength: limit };
  try {
    switch (encoding) {
      case 'gzip':
        return await gunzipAsync(buf, opts);
      case 'deflate':
        // RFC 9110 "deflate" is zlib-wrapped; some clients send raw deflate anyway.
        try {
          return await inflateAsync(buf, opts);
        } catch (e) {
          if (e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw e;
          return await inflateRawAsync(buf, opts);
        }
      case 'br':
        return await brotliDecompressAsync(buf, opts);
      case 'zstd':
        return await zstdDecompressAsync!(buf, opts);
    }
  } catch (e) {
    throw mapError(e, encoding, limit);
  }
}

/**
 * The synchronous attempt: the decompressed body, or null when `buf` is too large for it (then
 * `decompressBounded` does the work off the event loop). Throws as `decompressBounded` does.
 */
export function decompressSmall(buf: Buffer, encoding: Encoding, limit: number): Buffer | null {
  if (encoding === 'identity') return decompressSync(buf, encoding, limit);
  if (encoding === 'zstd' && !NATIVE_ZSTD) return buf.length <= ZSTD_SYNC_MAX_INPUT ? decompressSync(buf, encoding, limit) : null;
  if (buf.length > SYNC_MAX_INPUT) return null;
  const cap = Math.min(limit, SYNC_MAX_OUTPUT);
  try {
    return decompressSync(buf, encoding, cap);
  } catch (e) {
    if (!(e instanceof DecompressionLimitError) || cap === limit) throw e;
    return null;
  }
}

/** Decompresses `buf`; DecompressionLimitError past `limit` bytes, DecompressionError for bad data. */
export async function decompressBounded(buf: Buffer, encoding: Encoding, limit: number): Promise<Buffer> {
  const small = decompressSmall(buf, encoding, limit);
  if (small !== null) return small;
  if (encoding === 'zstd' && !NATIVE_ZSTD) return zstdYielding(buf, limit);
  return decompressAsync(buf, encoding as Exclude<Encoding, 'identity'>, limit);
}

async function zstdYielding(buf: Buffer, limit: number): Promise<Buffer> {
  const d = zstdDecoder(limit);
  try {
    for (let i = 0; i < buf.length; i += ZSTD_STEP) {
      const last = i + ZSTD_STEP >= buf.length;
      d.push(new Uint8Array(buf.buffer, buf.byteOffset + i, Math.min(ZSTD_STEP, buf.length - i)), last);
      if (!last) await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    throw mapError(e, 'zstd', limit);
  }
  return d.finish();
}

// Storage compression for bodies the client sent uncompressed, measured on the 91 distinct fixture
// payloads (mean 8.4 KB, Node 20, 2 cores): brotli quality 1 stores 21.5 % of the raw size in
// ~35 µs per payload (~18 µs below 4 KB); gzip level 1 stores 21.4 % in ~77 µs (~44 µs below 4 KB);
// gzip 6 19.4 % in ~92 µs; brotli 4 19.2 % in ~100 µs. Decompressing for the digest costs about the
// same either way (gunzip ~44 µs, brotli ~55 µs). Brotli 1 halves the fast path's CPU at equal size.
export const STORAGE_ENCODING = 'br' as const;
const SYNC_MAX_COMPRESS = 64 * 1024;

function brotliOptions(size: number): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 1,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

/** Storage compression done at once for bodies up to 64 KB (~35 µs at 8 KB); null for larger ones. */
export function compressSmallForStorage(raw: Buffer): Buffer | null {
  return raw.length <= SYNC_MAX_COMPRESS ? zlib.brotliCompressSync(raw, brotliOptions(raw.length)) : null;
}

export async function compressForStorage(raw: Buffer): Promise<Buffer> {
  return compressSmallForStorage(raw) ?? brotliCompressAsync(raw, brotliOptions(raw.length));
}

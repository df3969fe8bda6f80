import { brotliDecompressSync, gunzipSync, inflateSync, inflateRawSync, constants } from 'node:zlib';
import * as zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';

// Content-Encodings Sentry SDKs use (§5 of the protocol notes). zstd is decoded by node:zlib where it
// refuses a truncated frame (Node 24 and 26), otherwise by fzstd (pure JS): Node 22's zlib decodes
// zstd too but returns the decoded part of a truncated body without an error (22.23.5), which would
// store a cut-off payload as if whole. node:zlib is 1.3–5× faster (bench/micro/zstd.ts, BENCHMARKS.md)
// and leaves the event loop for large bodies. Every decoder is bounded: output beyond `limit` bytes stops decoding
// with DecompressionLimitError, so a bomb costs at most `limit` bytes of memory. (zlib's
// maxOutputLength is inclusive: exactly `limit` bytes pass, `limit + 1` fail.)

export type Encoding = 'identity' | 'gzip' | 'deflate' | 'br' | 'zstd';

/**
 * How an archived payload is stored: a Content-Encoding, or 'deflate-dict' — raw deflate (RFC 1951)
 * against a preset dictionary stored in `archive_dict` (migrations/0010). Never a Content-Encoding.
 */
export type StoredEncoding = Encoding | 'deflate-dict';

export class DecompressionLimitError extends Error {
  constructor(readonly limit: number) {
    super(`decompressed body exceeds ${limit} bytes`);
  }
}
export class DecompressionError extends Error {}

/** Maps a Content-Encoding header to an Encoding; null for an unsupported one. Empty = identity. */
export function parseContentEncoding(header: string | undefined): Encoding | null {
  const v = (header ?? '').trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate') return 'deflate';
  if (v === 'br') return 'br';
  if (v === 'zstd') return 'zstd';
  return null;
}

export function decompressSync(buf: Buffer, encoding: Encoding, limit: number): Buffer {
  try {
    switch (encoding) {
      case 'identity':
        if (buf.length > limit) throw new DecompressionLimitError(limit);
        return buf;
      case 'gzip':
        return gunzipSync(buf, { maxOutputLength: limit });
      case 'deflate':
        // RFC 9110 "deflate" is zlib-wrapped; some clients send raw deflate anyway.
        try {
          return inflateSync(buf, { maxOutputLength: limit });
        } catch (e) {
          if (e instanceof RangeError) throw e;
          return inflateRawSync(buf, { maxOutputLength: limit });
        }
      case 'br':
        return brotliDecompressSync(buf, { maxOutputLength: limit, params: { [constants.BROTLI_DECODER_PARAM_LARGE_WINDOW]: 0 } });
      case 'zstd':
        return zstdBounded(buf, limit);
    }
  } catch (e) {
    if (e instanceof DecompressionLimitError) throw e;
    if (e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressionLimitError(limit);
    throw new DecompressionError(`invalid ${encoding} data: ${(e as Error).message}`);
  }
}

/**
 * Decompresses an archived payload. 'deflate-dict' needs its dictionary's bytes (a Uint8Array too:
 * rows cross to worker threads by postMessage). Errors as decompressSync.
 */
export function decompressStored(buf: Buffer, encoding: StoredEncoding, limit: number, dictionary?: Uint8Array | null): Buffer {
  if (encoding !== 'deflate-dict') return decompressSync(buf, encoding, limit);
  if (!dictionary) throw new DecompressionError('invalid deflate-dict data: its dictionary was not loaded');
  try {
    return inflateRawSync(buf, { maxOutputLength: limit, dictionary });
  } catch (e) {
    if (e instanceof RangeError || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressionLimitError(limit);
    throw new DecompressionError(`invalid deflate-dict data: ${(e as Error).message}`);
  }
}

/** Whether node:zlib's zstd decoder is used: it is when it refuses a truncated frame (probed once). */
export const NATIVE_ZSTD: boolean = (() => {
  // Looked up on the namespace, not imported by name: an older Node than the floor still starts
  // and says so (bin/) rather than failing to link this module.
  if (typeof zlib.zstdCompressSync !== 'function') return false;
  const whole = zlib.zstdCompressSync(Buffer.alloc(256, 7));
  try {
    zlib.zstdDecompressSync(whole.subarray(0, whole.length - 1));
    return false;
  } catch {
    return true;
  }
})();

function zstdBounded(buf: Buffer, limit: number): Buffer {
  if (NATIVE_ZSTD) return zlib.zstdDecompressSync(buf, { maxOutputLength: limit });
  const d = zstdDecoder(limit);
  d.push(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), true);
  return d.finish();
}

/** A bounded zstd decoder fed in pieces (ingest feeds large bodies a step at a time to stay responsive). */
export function zstdDecoder(limit: number): { push(part: Uint8Array, last: boolean): void; finish(): Buffer } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const d = new ZstdDecompress((chunk, final) => {
    total += chunk.length;
    if (total > limit) throw new DecompressionLimitError(limit);
    chunks.push(chunk);
    if (final) ended = true;
  });
  return {
    push: (part, last) => d.push(part, last),
    finish() {
      if (!ended) throw new DecompressionError('invalid zstd data: truncated');
      return Buffer.concat(chunks, total);
    },
  };
}

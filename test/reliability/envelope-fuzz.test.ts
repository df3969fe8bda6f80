import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, parseEnvelope, parseEnvelopeHeader } from '../../src/protocol/envelope.js';
import { decompressSync, DecompressionError, DecompressionLimitError } from '../../src/protocol/compression.js';
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';

// Property tests on the pure parsers that see raw client bytes: whatever arrives, they either return
// a well-formed result or throw their own typed error — never a TypeError, RangeError or a hang.

const jsonLine = fc.oneof(
  fc.json().map((s) => s.replace(/\n/g, ' ')),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(null))).map((o) => JSON.stringify(o)),
  fc.constantFrom('{}', '{"type":"event"}', '{"type":"attachment","length":3}', '{"type":"event","length":-1}', '{"type":"x","length":1e9}'),
);
const payload = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const envelopeLike = fc
  .tuple(jsonLine, fc.array(fc.tuple(jsonLine, payload, fc.boolean()), { maxLength: 6 }))
  .map(([h, items]) => Buffer.concat([Buffer.from(h), ...items.flatMap(([ih, p, nl]) => [Buffer.from('\n' + ih + '\n'), p, Buffer.from(nl ? '\n' : '')])]));

describe('envelope parser under random input', () => {
  it('returns items with a type and in-bounds payloads, or throws EnvelopeError', () => {
    fc.assert(
      fc.property(fc.oneof(envelopeLike, fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))), (buf) => {
        try {
          const env = parseEnvelope(buf);
          expect(typeof env.headers).toBe('object');
          for (const it of env.items) {
            expect(typeof it.headers.type).toBe('string');
            expect(it.payload.length).toBeLessThanOrEqual(buf.length);
            if (typeof it.headers.length === 'number') expect(it.payload.length).toBe(it.headers.length);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(EnvelopeError);
        }
        try {
          parseEnvelopeHeader(buf);
        } catch (e) {
          expect(e).toBeInstanceOf(EnvelopeError);
        }
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('round-trips what it parses when items carry lengths', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('event', 'attachment', 'session'), payload), { maxLength: 5 }), (items) => {
        const buf = Buffer.concat([
          Buffer.from('{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}'),
          ...items.flatMap(([t, p]) => [Buffer.from(`\n{"type":"${t}","length":${p.length}}\n`), p]),
        ]);
        const env = parseEnvelope(buf);
        expect(env.items.map((i) => i.headers.type)).toEqual(items.map(([t]) => t));
        env.items.forEach((it, i) => expect(Buffer.compare(it.payload, items[i]![1])).toBe(0));
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('bounded decompression under random input', () => {
  const encoders = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;
  it('decodes valid data, and corrupt or truncated data throws a typed error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom('gzip', 'deflate', 'br', 'zstd' as const),
        fc.nat(),
        fc.nat(255),
        (raw, enc, cut, flip) => {
          const good = enc === 'zstd' ? Buffer.from(raw) : encoders[enc](Buffer.from(raw));
          const bad = Buffer.from(good.subarray(0, cut % (good.length + 1)));
          if (bad.length) bad[flip % bad.length] ^= flip | 1;
          for (const b of enc === 'zstd' ? [bad] : [good, bad]) {
            try {
              const out = decompressSync(b, enc, 4096);
              expect(out.length).toBeLessThanOrEqual(4096);
            } catch (e) {
              expect(e instanceof DecompressionError || e instanceof DecompressionLimitError, String(e)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 1500, seed: 3 },
    );
  });

  it('stops a bomb at the limit', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(() => decompressSync(bomb, 'gzip', 1024 * 1024)).toThrow(DecompressionLimitError);
    expect(() => decompressSync(brotliCompressSync(Buffer.alloc(8 * 1024 * 1024)), 'br', 1024)).toThrow(DecompressionLimitError);
  });
});

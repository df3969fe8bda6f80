import { describe, expect, it } from 'vitest';
import { computeGrouping } from '../../src/grouping/index.js';
import { hashValues } from '../../src/grouping/hash.js';
import { resolveFingerprint } from '../../src/grouping/fingerprint-vars.js';
import { fingerprintType, parseFingerprintRules } from '../../src/grouping/fingerprint.js';

const baseEvent = {
  platform: 'python',
  transaction: '/api/users',
  level: 'error',
  logger: 'app.views',
  tags: [['browser', 'Firefox'], ['env', 'prod']],
  exception: {
    values: [
      { type: 'Inner', value: 'first' },
      {
        type: 'ValueError',
        value: 'bad value',
        stacktrace: {
          frames: [
            { function: 'outer', module: 'app.a', filename: 'a.py', package: '/usr/lib/libfoo.so', in_app: true },
            { function: 'inner', module: 'app.b', abs_path: '/srv/app/b.py', filename: 'b.py', in_app: false },
          ],
        },
      },
    ],
  },
};

describe('fingerprint variables', () => {
  it.each([
    ['{{ transaction }}', '/api/users'],
    ['{{ type }}', 'ValueError'],
    ['{{ error.type }}', 'ValueError'],
    ['{{ value }}', 'bad value'],
    ['{{ error.value }}', 'bad value'],
    ['{{ message }}', 'bad value'],
    ['{{ function }}', 'outer'],
    ['{{ stack.function }}', 'outer'],
    ['{{ module }}', 'app.a'],
    ['{{ stack.abs_path }}', 'a.py'],
    ['{{ package }}', 'libfoo.so'],
    ['{{ level }}', 'error'],
    ['{{ logger }}', 'app.views'],
    ['{{ tags.browser }}', 'Firefox'],
    ['{{ tags.missing }}', '<no-value-for-tag-missing>'],
    ['{{default}}', '{{ default }}'],
    ['{{ something.unknown }}', '{{ something.unknown }}'],
    ['plain', 'plain'],
  ])('%s -> %s', (entry, expected) => {
    expect(resolveFingerprint([entry], baseEvent)).toEqual([expected]);
  });

  it('uses placeholders when the data is missing', () => {
    expect(resolveFingerprint(['{{ transaction }}', '{{ type }}', '{{ function }}', '{{ level }}'], {})).toEqual([
      '<no-transaction>', '<no-type>', '<no-function>', '<no-level>',
    ]);
  });

  it('classifies fingerprints', () => {
    expect(fingerprintType(['{{ default }}'])).toBe('default');
    expect(fingerprintType(['{{ default }}', 'x'])).toBe('hybrid');
    expect(fingerprintType(['x'])).toBe('custom');
    expect(fingerprintType([])).toBe(null);
  });
});

describe('fingerprint variants', () => {
  it('custom fingerprints replace the default grouping', () => {
    const r = computeGrouping({ ...baseEvent, fingerprint: ['my-group', '{{ transaction }}'] });
    expect(r.variants['custom-fingerprint']!.hash).toBe(hashValues(['my-group', '/api/users']));
    expect(r.primaryHash).toBe(hashValues(['my-group', '/api/users']));
    expect(r.variants.app!.hash).toBe(null);
    expect(r.variants.app!.contributes).toBe(false);
  });

  it('`{{ default }}` alone is the default grouping', () => {
    const a = computeGrouping(baseEvent);
    const b = computeGrouping({ ...baseEvent, fingerprint: ['{{ default }}'] });
    expect(b.primaryHash).toBe(a.primaryHash);
  });

  it('hybrid fingerprints salt the default values', () => {
    const a = computeGrouping({ ...baseEvent, fingerprint: ['{{ default }}', 'x'] });
    const b = computeGrouping({ ...baseEvent, fingerprint: ['{{ default }}', 'y'] });
    expect(a.primaryHash).not.toBe(b.primaryHash);
    const plain = computeGrouping({ message: 'hello' });
    const salted = computeGrouping({ message: 'hello', fingerprint: ['{{ default }}', 'x'] });
    expect(plain.variants.default!.hash).toBe(hashValues(['hello']));
    expect(salted.variants.default!.hash).toBe(hashValues(['hello', 'x']));
  });

  it('project fingerprint rules override the client fingerprint (text and JSON)', () => {
    const text = 'error.type:ValueError -> value-errors, {{ tags.env }}';
    const r1 = computeGrouping({ ...baseEvent, fingerprint: ['client'] }, { fingerprintingRules: text });
    expect(r1.primaryHash).toBe(hashValues(['value-errors', 'prod']));
    const json = JSON.stringify([{ matchers: [['type', 'ValueError']], fingerprint: ['{{ default }}', 'extra'] }]);
    const r2 = computeGrouping({ ...baseEvent, fingerprint: ['client'] }, { fingerprintingRules: json });
    expect(r2.variants['custom-fingerprint']).toBeUndefined();
    expect(r2.primaryHash).not.toBe(computeGrouping(baseEvent).primaryHash);
  });

  it('rules match messages, frames, tags and negations', () => {
    const rules = parseFingerprintRules([
      'message:"*secret*" -> secret',
      'stack.function:inner app:no -> inner-system',
      'tags.env:prod !level:warning -> prod-errors',
    ].join('\n'));
    expect(rules).toHaveLength(3);
    const ev = { ...baseEvent, exception: undefined, logentry: { formatted: 'the SECRET sauce' } };
    expect(computeGrouping(ev, { fingerprintingRules: rules.map((r) => r.text).join('\n') }).primaryHash).toBe(hashValues(['secret']));
    expect(computeGrouping(baseEvent, { fingerprintingRules: 'stack.function:inner app:no -> inner-system' }).primaryHash).toBe(hashValues(['inner-system']));
    expect(computeGrouping(baseEvent, { fingerprintingRules: 'tags.env:prod !level:warning -> prod-errors' }).primaryHash).toBe(hashValues(['prod-errors']));
    expect(computeGrouping({ ...baseEvent, level: 'warning' }, { fingerprintingRules: 'tags.env:prod !level:warning -> prod-errors' }).primaryHash).not.toBe(hashValues(['prod-errors']));
  });

  it('built-in rule groups JavaScript chunk-load errors together', () => {
    const r = computeGrouping({ platform: 'javascript', exception: { values: [{ type: 'ChunkLoadError', value: 'Loading chunk 12 failed' }] } });
    expect(r.variants['built-in-fingerprint']!.hash).toBe(hashValues(['chunkloaderror']));
    const py = computeGrouping({ platform: 'python', exception: { values: [{ type: 'ChunkLoadError', value: 'x' }] } });
    expect(py.variants['built-in-fingerprint']).toBeUndefined();
  });

  it('checksums', () => {
    const hex = 'a'.repeat(32);
    expect(computeGrouping({ checksum: hex, message: 'x' }).primaryHash).toBe(hex);
    const r = computeGrouping({ checksum: 'not a hash' });
    expect(r.primaryHash).toBe(hashValues(['not a hash']));
    expect(r.hashes).toEqual([hashValues(['not a hash'])]);
  });
});

describe('fingerprint rule matchers', () => {
  it('thread and path matchers', () => {
    const ev = {
      platform: 'cocoa',
      threads: { values: [{ id: 1, name: 'main', crashed: true, stacktrace: { frames: [{ function: 'f', abs_path: '/App/Src/Main.swift' }] } }] },
    };
    expect(computeGrouping(ev, { fingerprintingRules: 'thread.name:main thread.crashed:yes -> main-crash' }).primaryHash).toBe(hashValues(['main-crash']));
    expect(computeGrouping(ev, { fingerprintingRules: 'path:**/src/*.swift -> swift' }).primaryHash).toBe(hashValues(['swift']));
    expect(computeGrouping(ev, { fingerprintingRules: 'thread.name:worker -> no' }).primaryHash).not.toBe(hashValues(['no']));
  });
});

describe('fingerprint rules on frames of threads no strategy uses', () => {
  it('see the in-app flags the stack-trace rules gave those frames', () => {
    // Two threads, none crashed or current: the threads strategy uses neither, but a fingerprint
    // rule reads their frames, after the rules made the node_modules frame not in-app.
    const ev = {
      platform: 'node',
      exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames: [{ function: 'main', filename: '/srv/app/main.js', in_app: true }] } }] },
      threads: {
        values: [
          { id: 1, stacktrace: { frames: [{ function: 'poll', filename: '/srv/app/node_modules/lib/poll.js' }] } },
          { id: 2, stacktrace: { frames: [{ function: 'idle', filename: '/srv/app/idle.js' }] } },
        ],
      },
    };
    const rules = (app: string) => JSON.stringify([{ matchers: [['stack.function', 'poll'], ['app', app]], fingerprint: ['poller'] }]);
    const notInApp = computeGrouping(ev, { fingerprintingRules: rules('no') });
    expect(notInApp.variants['custom-fingerprint']?.values).toEqual(['poller']);
    expect(computeGrouping(ev, { fingerprintingRules: rules('yes') }).variants['custom-fingerprint']).toBeUndefined();
  });
});

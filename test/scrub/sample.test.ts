// Archive dictionaries are made of payloads (src/archive/dictionaries.ts) and live as long as the rows
// compressed against them, so they are made of the payload as scrubbing leaves it (src/scrub/sample.ts).
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/protocol/envelope.js';
import { scrubbedSample } from '../../src/scrub/sample.js';
import { envelope } from '../digest/archive.js';

describe('scrubbedSample', () => {
  const event = { event_id: 'a'.repeat(32), message: 'card 4111111111111111', extra: { password: 'hunter2', ok: 'kept' } };
  it('scrubs the event items of an envelope and keeps the other items and the framing', () => {
    const raw = envelope({ event_id: 'a'.repeat(32) }, [[{ type: 'event' }, event], [{ type: 'attachment', filename: 'a.txt' }, Buffer.from('password=raw bytes')], [{ type: 'event' }, '{not json']]);
    const out = scrubbedSample(raw);
    const env = parseEnvelope(out);
    expect(env.items.map((i) => i.headers.type)).toEqual(['event', 'attachment', 'event']);
    expect(JSON.parse(env.items[0]!.payload.toString())).toMatchObject({ message: 'card [Filtered]', extra: { password: '[Filtered]', ok: 'kept' } });
    expect(env.items[1]!.payload.toString()).toBe('password=raw bytes');
    expect(env.items[2]!.payload.length).toBe(0);
    expect(out.toString()).not.toContain('hunter2');
  });
  it('scrubs a store body; returns other bodies as they are', () => {
    expect(scrubbedSample(Buffer.from(JSON.stringify(event))).toString()).not.toContain('hunter2');
    expect(scrubbedSample(Buffer.from(` \n${JSON.stringify(event)}`)).toString()).not.toContain('hunter2');
    const dump = Buffer.from('MDMP\x00\x01binary');
    expect(scrubbedSample(dump)).toBe(dump);
    const clean = Buffer.from(JSON.stringify({ message: 'hello' }));
    expect(scrubbedSample(clean)).toBe(clean);
  });
});

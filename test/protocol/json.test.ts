import { describe, expect, it } from 'vitest';
import { JsonShapeError, parseJsonTolerant, topLevelFields } from '../../src/protocol/json.js';

// Ingest reads a store body's event_id and type without parsing the rest (topLevelFields); the digest
// parses it whole. What the one pass must never do: disagree with JSON.parse on a body JSON.parse
// reads as an object, or accept a body whose brackets do not close.

const NAMES = ['event_id', 'type'] as const;
const fields = (s: string) => topLevelFields(Buffer.from(s), NAMES);

function shapeError(s: string): JsonShapeError {
  try {
    fields(s);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonShapeError);
    return e as JsonShapeError;
  }
  throw new Error(`accepted ${JSON.stringify(s)}`);
}

describe('topLevelFields', () => {
  it('reads the named top-level fields and skips everything else, nested ones of the same name included', () => {
    const body = `{"extra":{"event_id":"nested","type":"x","s":"}]\\"{["},"event_id":"ab","list":[{"type":1},[2,"]"]],"type":"transaction","n":-1.5e3,"t":true}`;
    expect(fields(body)).toEqual({ event_id: 'ab', type: 'transaction' });
    expect(fields('  {}  \n')).toEqual({});
    expect(fields('{"message":"no id"}')).toEqual({});
    // A repeated name: the last one, as JSON.parse keeps.
    expect(fields('{"type":"a","type":"b"}')).toEqual({ type: 'b' });
    // Values of any kind, NaN as the tolerant parse reads it.
    expect(fields('{"type":{"a":[1]} ,"event_id" : null }')).toEqual({ type: { a: [1] }, event_id: null });
    expect(fields('{"type":NaN}')).toEqual({ type: null });
  });

  it('parses the whole body when a top-level name is written with escapes', () => {
    expect(fields('{"event\\u005fid":"ab","type":"transaction"}')).toEqual({ event_id: 'ab', type: 'transaction' });
    expect(fields('{"a\\"b":1,"type":"x"}')).toEqual({ type: 'x' });
  });

  it('refuses bodies that are not one object, naming why', () => {
    for (const s of ['[1,2]', '"str"', '12', 'null']) expect(shapeError(s).notObject, s).toBe(true);
    for (const s of ['', '   ', 'not json', '{', '{"event_id":"ab",', '{"a":"unterminated}', '{"a":[1}', '{"a":{]}', '{"a":1}}', '{"a":1} x', '{"type"}', '{"type": }', '\ufeff{}']) {
      const e = shapeError(s);
      expect(e.notObject, s).toBe(false);
      expect(e.message.length, s).toBeGreaterThan(0);
    }
  });

  it('agrees with JSON.parse on random objects, and never accepts one whose brackets do not close', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const str = () => pick(['', 'a', 'type', 'event_id', '"', '\\', '}', ']', '{', '[', ',', ':', 'é', '\n']).repeat(1 + Math.floor(rnd() * 3));
    const value = (depth: number): unknown => {
      const k = Math.floor(rnd() * (depth > 3 ? 4 : 6));
      if (k === 0) return str();
      if (k === 1) return Math.floor(rnd() * 1000) - 500;
      if (k === 2) return pick([true, false, null]);
      if (k === 3) return rnd();
      if (k === 4) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [pick(['type', 'event_id', str()]), value(depth + 1)]));
    };
    for (let n = 0; n < 3000; n++) {
      const obj = Object.fromEntries(Array.from({ length: Math.floor(rnd() * 6) }, () => [pick(['type', 'event_id', 'extra', str()]), value(0)]));
      const text = JSON.stringify(obj, null, n % 3 === 0 ? 1 : undefined);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const want = Object.fromEntries(NAMES.filter((k) => Object.hasOwn(parsed, k)).map((k) => [k, parsed[k]]));
      expect(fields(text), text).toEqual(want);
      // Cut short anywhere inside the object: never taken for a whole one.
      const cut = text.slice(0, Math.floor(rnd() * (text.length - 1)));
      expect(() => fields(cut), cut).toThrow(JsonShapeError);
    }
  });
});

describe('parseJsonTolerant', () => {
  it('reads bare NaN and ±Infinity as null, and leaves them alone inside strings', () => {
    expect(parseJsonTolerant('{"a":NaN,"b":-Infinity,"c":[Infinity],"s":"NaN \\" Infinity","t":"\\\\"}')).toEqual({ a: null, b: null, c: [null], s: 'NaN " Infinity', t: '\\' });
    expect(() => parseJsonTolerant('{"a":NaN')).toThrow(SyntaxError);
    expect(() => parseJsonTolerant('{"a":nope}')).toThrow(SyntaxError);
  });
});

import { AnyMap, type TraceMap } from '@jridgewell/trace-mapping';

// Parsed source maps and minified sources by content sha1, least recently used first out, within
// SOURCEMAP_CACHE_BYTES. A file is counted at twice its size: trace-mapping keeps the JSON's strings
// (sourcesContent) and decodes `mappings` lazily into arrays about as large as the encoded text.
// A map that failed to parse is remembered too (its reason), so a broken upload is not re-parsed per event.

export type Parsed =
  | { kind: 'map'; map: TraceMap }
  | { kind: 'text'; text: string }
  | { kind: 'bad'; reason: string };

export class ParsedCache {
  private entries = new Map<string, { value: Parsed; cost: number }>();
  private used = 0;
  constructor(readonly maxBytes: number) {}

  get(sha1: string): Parsed | undefined {
    const e = this.entries.get(sha1);
    if (!e) return undefined;
    // re-insert: Map iteration order is insertion order, so the first key is the least recently used
    this.entries.delete(sha1);
    this.entries.set(sha1, e);
    return e.value;
  }

  put(sha1: string, value: Parsed, size: number): void {
    const cost = 2 * size;
    if (cost > this.maxBytes) return;
    this.entries.set(sha1, { value, cost });
    this.used += cost;
    for (const [k, e] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= e.cost;
    }
  }

  get bytes(): number {
    return this.used;
  }
}

/** Parses a source map (plain or indexed); a map that is not one says why. */
export function parseMap(data: Buffer): Parsed {
  try {
    const json = JSON.parse(data.toString('utf8')) as unknown;
    if (!json || typeof json !== 'object' || (json as { version?: unknown }).version !== 3) return { kind: 'bad', reason: 'not a version 3 source map' };
    return { kind: 'map', map: new AnyMap(json as ConstructorParameters<typeof AnyMap>[0]) };
  } catch (e) {
    return { kind: 'bad', reason: e instanceof SyntaxError ? 'not valid JSON' : String((e as Error).message).slice(0, 200) };
  }
}

// JSON as SDKs send it, read by ingest and by the digest alike: the tolerant parse (bare NaN and
// Infinity, which old Python SDKs emit) and ingest's shape check of a store body, which reads only
// the top-level fields it needs.

/** JSON.parse, retried with bare NaN/Infinity tokens as null (old Python SDKs emit them; Relay too rewrites them). */
export function parseJsonTolerant(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
    // Outside strings each token becomes null; the text between is copied in slices (linear).
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        // Skip the string, to its closing quote (a backslash escapes the character after it).
        for (i++; i < text.length; i++) {
          const d = text.charCodeAt(i);
          if (d === 0x5c) i++;
          else if (d === 0x22) break;
        }
        continue;
      }
      const len = text.startsWith('NaN', i) ? 3 : text.startsWith('-Infinity', i) ? 9 : text.startsWith('Infinity', i) ? 8 : 0;
      if (len) {
        parts.push(text.slice(from, i), 'null');
        i += len - 1;
        from = i + 1;
      }
    }
    parts.push(text.slice(from));
    const out = parts.join('');
    try {
      return JSON.parse(out);
    } catch {
      throw e;
    }
  }
}

/** Why a body is not a JSON object as far as `topLevelFields` reads it; `notObject`: it is some other JSON value. */
export class JsonShapeError extends Error {
  constructor(message: string, readonly notObject = false) {
    super(message);
  }
}

const QUOTE = 0x22, BACKSLASH = 0x5c, OPEN = 0x7b, CLOSE = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, COMMA = 0x2c, COLON = 0x3a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Index of the quote closing the string whose opening quote is at `open`; -1 when unterminated. */
function stringEnd(buf: Buffer, open: number): number {
  for (let j = open + 1; j < buf.length; j++) {
    const b = buf[j]!;
    if (b === QUOTE) return j;
    if (b === BACKSLASH) j++;
  }
  return -1;
}

/**
 * The values of the named top-level fields of the JSON object in `buf` (the last one where a name
 * repeats, as JSON.parse keeps), without parsing the rest: one pass over the bytes that checks that
 * brackets balance and that the body is one object. What is between the brackets (numbers, literals,
 * escapes) is not checked: the digest parses the body and records one that is not JSON as an
 * invalid event. Store bodies of the bench mix (~5 KB): JSON.parse with its toString ~16 µs, and
 * ~45 µs measured inside ingest (its garbage), for a body the digest parses again; this pass ~7.5 µs
 * (a plain loop: Buffer#indexOf per string cost ~13 µs in all, its call outweighing the search).
 * A name written with escapes is not recognised by the pass, so then the whole body is parsed.
 * Throws JsonShapeError.
 */
export function topLevelFields(buf: Buffer, names: readonly string[]): Record<string, unknown> {
  let i = 0;
  while (i < buf.length && isSpace(buf[i]!)) i++;
  if (i === buf.length) throw new JsonShapeError('unexpected end of JSON input');
  if (buf[i] !== OPEN) notAnObject(buf);
  const out: Record<string, unknown> = {};
  // Open brackets below the top-level object: 1 = object, 2 = array.
  const stack: number[] = [];
  let expectKey = true;
  let wanted: string | null = null;
  let valueStart = -1;
  let escapedKey = false;
  for (i++; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === QUOTE) {
      const end = stringEnd(buf, i);
      if (end === -1) throw new JsonShapeError('unterminated string');
      if (stack.length === 0 && expectKey) {
        const len = end - i - 1;
        for (const n of names) if (n.length === len && buf.toString('latin1', i + 1, end) === n) wanted = n;
        if (buf.subarray(i + 1, end).includes(BACKSLASH)) escapedKey = true;
        expectKey = false;
      }
      i = end;
    } else if (b === OPEN || b === OPEN_ARRAY) stack.push(b === OPEN ? 1 : 2);
    else if (b === CLOSE || b === CLOSE_ARRAY) {
      if (stack.length === 0) {
        if (b !== CLOSE) throw new JsonShapeError(`unexpected "]" at position ${i}`);
        if (wanted !== null) out[wanted] = fieldValue(buf, valueStart, i);
        for (i++; i < buf.length; i++) if (!isSpace(buf[i]!)) throw new JsonShapeError(`unexpected data after the object at position ${i}`);
        return escapedKey ? wholeObject(buf, names) : out;
      }
      if (stack.pop() !== (b === CLOSE ? 1 : 2)) throw new JsonShapeError(`unexpected "${b === CLOSE ? '}' : ']'}" at position ${i}`);
    } else if (stack.length === 0) {
      if (b === COLON && wanted !== null) valueStart = i + 1;
      else if (b === COMMA) {
        if (wanted !== null) out[wanted] = fieldValue(buf, valueStart, i);
        wanted = null;
        valueStart = -1;
        expectKey = true;
      }
    }
  }
  throw new JsonShapeError('unexpected end of JSON input');
}

/** parseJsonTolerant of bytes `start`–`end`, its error as a JsonShapeError. */
function parseShape(buf: Buffer, start = 0, end = buf.length): unknown {
  try {
    return parseJsonTolerant(buf.toString('utf8', start, end));
  } catch (e) {
    throw new JsonShapeError((e as Error).message);
  }
}

/** Throws why a body that does not start with "{" is not an object: another JSON value, or not JSON (rare: parsed whole to tell). */
function notAnObject(buf: Buffer): never {
  parseShape(buf);
  throw new JsonShapeError('not a JSON object', true);
}

function fieldValue(buf: Buffer, start: number, end: number): unknown {
  if (start < 0) throw new JsonShapeError('a field without a value');
  return parseShape(buf, start, end);
}

function wholeObject(buf: Buffer, names: readonly string[]): Record<string, unknown> {
  const o = parseShape(buf) as Record<string, unknown>;
  return Object.fromEntries(names.filter((n) => n in o).map((n) => [n, o[n]]));
}

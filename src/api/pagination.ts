import { HttpError } from '../http/errors.js';

// Cursor pagination in Sentry's shape. Sentry's cursors are "value:offset:is_prev" and its Link
// header always carries both directions with results="true|false" (docs.sentry.io/api/pagination):
//   <url?cursor=…>; rel="previous"; results="false"; cursor="…", <url?cursor=…>; rel="next"; results="true"; cursor="…"
// Ours keep that look but are keyset positions: "value:id:is_prev", where value is the sort key of
// the row at the page boundary and id breaks ties. A page is then an index range scan that starts
// at the boundary, so page 1000 costs what page 1 costs (an OFFSET would read every skipped row).
// Clients treat cursors as opaque (sentry-cli passes `cursor=` back verbatim, empty at first).

export interface Cursor {
  value: number;
  id: number;
  isPrev: boolean;
}

export function parseCursor(s: string | null | undefined): Cursor | null {
  if (!s) return null;
  const m = /^(-?\d+(?:\.\d+)?):(\d+):([01])$/.exec(s);
  if (!m) throw new HttpError('invalid_request', `invalid cursor ${JSON.stringify(s)}`);
  const value = Number(m[1]);
  const id = Number(m[2]);
  // cursors we hand out hold sort keys and bigint ids; beyond 2^53 a number is not one of ours
  if (!(Math.abs(value) <= Number.MAX_SAFE_INTEGER) || !Number.isSafeInteger(id)) throw new HttpError('invalid_request', `invalid cursor ${JSON.stringify(s.slice(0, 100))}: out of range`);
  return { value, id, isPrev: m[3] === '1' };
}

export function formatCursor(c: Cursor): string {
  return `${c.value}:${c.id}:${c.isPrev ? 1 : 0}`;
}

export function parseLimit(s: string | null, dflt = 100, max = 100): number {
  if (s === null || s === '') return dflt;
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new HttpError('invalid_request', `limit must be a positive integer, got ${JSON.stringify(s)}`);
  return Math.min(Number(s), max);
}

export interface PageLinks {
  prev: Cursor;
  next: Cursor;
  hasPrev: boolean;
  hasNext: boolean;
}

/**
 * Works out both cursors of a page fetched in keyset order. `rows` is the page as shown (already
 * in display order, at most `limit`), `more` says the query found a row beyond the page in the
 * direction it read, `cursor` is the one the request came with.
 */
export function pageLinks<T>(rows: T[], key: (r: T) => { value: number; id: number }, cursor: Cursor | null, more: boolean): PageLinks {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) {
    // An empty page: point both directions back at where the request started.
    const at = cursor ?? { value: 0, id: 0, isPrev: false };
    return {
      prev: { ...at, isPrev: true },
      next: { ...at, isPrev: false },
      hasPrev: !!(cursor && !cursor.isPrev ),
      hasNext: !!cursor && cursor.isPrev,
    };
  }
  const readingBack = cursor?.isPrev ?? false;
  return {
    prev: { ...key(first), isPrev: true },
    next: { ...key(last), isPrev: false },
    // Reading forward: there is a previous page when we came from one. Reading back: the query
    // itself said whether more rows precede this page; and the next page is where we came from.
    hasPrev: readingBack ? more : !!cursor,
    hasNext: readingBack ? true : more,
  };
}

/** The Link header value; `baseUrl` is the request URL as the client would repeat it. */
export function linkHeader(baseUrl: URL, links: PageLinks): string {
  const one = (c: Cursor, rel: string, results: boolean) => {
    const u = new URL(baseUrl);
    u.searchParams.set('cursor', formatCursor(c));
    return `<${u.toString()}>; rel="${rel}"; results="${results}"; cursor="${formatCursor(c)}"`;
  };
  return `${one(links.prev, 'previous', links.hasPrev)}, ${one(links.next, 'next', links.hasNext)}`;
}

/** Offset pagination for small lists (projects, keys, tag values): the cursor is "0:offset:0". */
export function offsetPage<T>(all: T[], cursor: Cursor | null, limit: number): { rows: T[]; links: PageLinks } {
  const offset = cursor ? (cursor.isPrev ? Math.max(0, cursor.id - limit) : cursor.id) : 0;
  const rows = all.slice(offset, offset + limit);
  return {
    rows,
    links: {
      prev: { value: 0, id: Math.max(0, offset), isPrev: true },
      next: { value: 0, id: offset + rows.length, isPrev: false },
      hasPrev: offset > 0,
      hasNext: offset + rows.length < all.length,
    },
  };
}

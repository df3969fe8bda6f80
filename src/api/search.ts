import { HttpError } from '../http/errors.js';

// Sentry's issue search syntax, parsed (pure; the issue queries give the filters their meaning):
//   is:unresolved  level:error  release:1.2.0  environment:"prod eu"  browser:Chrome  !level:info
//   level:[error,fatal]  has:user  tags[server.name]:web-1  free text "quoted free text"
// `!` negates a filter; a list matches any of its values; words without a key are free text,
// matched against the issue title. Unbalanced quotes end at the end of the query instead of failing,
// as Sentry's search bar does.

export interface SearchFilter {
  key: string;
  values: string[];
  negate: boolean;
}

export interface ParsedSearch {
  filters: SearchFilter[];
  text: string[];
}

const KEY = /^[A-Za-z0-9_.\-@]+$/;

/** SEARCH_MAX_QUERY_CHARS and SEARCH_MAX_FILTERS: each term costs the database a subquery. */
export interface SearchLimits {
  searchMaxQueryChars: number;
  searchMaxFilters: number;
}

/** Parses a query within the limits (400 naming the setting past them); no limits for queries we build ourselves. */
export function parseSearch(query: string | null | undefined, limits?: SearchLimits): ParsedSearch {
  const q = query ?? '';
  if (limits && q.length > limits.searchMaxQueryChars) {
    throw new HttpError('invalid_request', `search query longer than ${limits.searchMaxQueryChars} characters (SEARCH_MAX_QUERY_CHARS)`);
  }
  const out = parse(q);
  if (limits) {
    const terms = out.text.length + out.filters.reduce((n, f) => n + Math.max(1, f.values.length), 0);
    if (terms > limits.searchMaxFilters) {
      throw new HttpError('invalid_request', `search query has ${terms} terms (filters, list values and words); at most ${limits.searchMaxFilters} (SEARCH_MAX_FILTERS)`);
    }
  }
  return out;
}

function parse(q: string): ParsedSearch {
  const out: ParsedSearch = { filters: [], text: [] };
  let i = 0;
  const n = q.length;

  const readQuoted = (): string => {
    // at the opening quote
    let s = '';
    i++;
    while (i < n && q[i] !== '"') {
      if (q[i] === '\\' && i + 1 < n) i++;
      s += q[i++];
    }
    i++; // closing quote (or past the end)
    return s;
  };
  const readBare = (stop: RegExp): string => {
    const start = i;
    while (i < n && !stop.test(q[i]!)) i++;
    return q.slice(start, i);
  };

  while (i < n) {
    if (/\s/.test(q[i]!)) {
      i++;
      continue;
    }
    if (q[i] === '"') {
      const t = readQuoted();
      if (t) out.text.push(t);
      continue;
    }
    const start = i;
    let negate = false;
    if (q[i] === '!') {
      negate = true;
      i++;
    }
    let key = '';
    const tagsForm = /^tags\[([^\]]+)\]:/.exec(q.slice(i));
    if (tagsForm) {
      key = tagsForm[1]!;
      i += tagsForm[0].length;
    } else {
      const k = readBare(/[\s:"]/);
      if (q[i] === ':' && k && KEY.test(k) && i + 1 < n && !/\s/.test(q[i + 1]!)) {
        key = k;
        i++;
      } else {
        // not a filter: a free-text word (the '!' and anything read are part of it)
        i = start;
        const w = readBare(/\s/);
        out.text.push(w);
        continue;
      }
    }
    let values: string[];
    if (q[i] === '"') values = [readQuoted()];
    else if (q[i] === '[') {
      i++;
      values = [];
      while (i < n && q[i] !== ']') {
        while (i < n && /[\s,]/.test(q[i]!)) i++;
        if (q[i] === ']') break;
        if (q[i] === '"') values.push(readQuoted());
        else {
          const v = readBare(/[,\]]/).trim();
          if (v) values.push(v);
        }
      }
      i++;
    } else values = [readBare(/\s/)];
    out.filters.push({ key, values, negate });
  }
  return out;
}

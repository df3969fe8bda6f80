import { HttpError } from '../../http/errors.js';
import type { ParsedSearch, SearchFilter } from '../search.js';
import { parseShortId } from '../short-id.js';

// Turns a parsed search into SQL conditions on `issue i`, appending values to `params`. Shared by
// the issue list, the bulk status change (which acts on "everything this query matches") and the UI.
// Every condition is served by an index: status/level/period by the issue indexes; tags, release and
// environment by tag_value (project_id, key, value) → issue_tag (project_id, tag_value_id, issue_id),
// never by reading reports.

const STATUS_WORDS: Record<string, string> = {
  unresolved: "i.status = 'unresolved'",
  resolved: "i.status = 'resolved'",
  ignored: "i.status = 'ignored'",
  archived: "i.status = 'ignored'",
  muted: "i.status = 'ignored'",
  regressed: "i.status = 'unresolved' AND i.substatus = 'regressed'",
  new: "i.status = 'unresolved' AND i.substatus = 'new'",
  ongoing: "i.status = 'unresolved' AND i.substatus = 'ongoing'",
  escalating: "i.status = 'unresolved' AND i.substatus = 'escalating'",
  // Nothing is ever linked or subscribed here (assigned and bookmarked: COLLAB_WORDS).
  unlinked: 'TRUE',
  linked: 'FALSE',
  subscribed: 'FALSE',
};

const UNIT_SECS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export interface FilterContext {
  params: unknown[];
  /** the projects searched: their ids and slugs (for short-id lookups in free text) */
  projects: { id: number; slug: string }[];
  /** who is asking: "me" in assigned:me and bookmarks:me (null: a token that belongs to no user) */
  userId?: number | null;
}

// Collaboration filters (migrations/0036_collaboration.sql), each a semi-join on a small table by
// (project_id, issue_id): is:assigned, is:unassigned, is:bookmarked (by me), assigned:me|<email>,
// bookmarks:me|<email>.
const ASSIGNED = 'EXISTS (SELECT 1 FROM issue_assignee a WHERE a.project_id = i.project_id AND a.issue_id = i.id)';

function me(ctx: FilterContext, key: string): number {
  if (ctx.userId === undefined || ctx.userId === null) {
    throw new HttpError('invalid_request', `${key}:me needs a user, and this token belongs to none (made with crash-cache-cli); name the user by e-mail instead`);
  }
  return ctx.userId;
}

/** Users named by "me" or e-mail, as a SQL condition on a user id column. */
function usersCondition(ctx: FilterContext, key: string, values: string[], col: string): string {
  const ids: number[] = [];
  const emails: string[] = [];
  for (const v of values) {
    if (v === 'me') ids.push(me(ctx, key));
    else if (v.startsWith('#')) throw new HttpError('invalid_request', `${key}: there are no teams here; name a user by e-mail or "me"`);
    else emails.push(v.toLowerCase());
  }
  return `(${col} = ANY(${p(ctx, ids)}::bigint[]) OR ${col} IN (SELECT id FROM ui_user WHERE lower(email) = ANY(${p(ctx, emails)}::text[])))`;
}

function collabCondition(ctx: FilterContext, key: string, values: string[]): string {
  if (key === 'assigned') {
    if (values.length === 1 && values[0] === 'none') return `NOT ${ASSIGNED}`;
    return `EXISTS (SELECT 1 FROM issue_assignee a WHERE a.project_id = i.project_id AND a.issue_id = i.id AND ${usersCondition(ctx, key, values, 'a.user_id')})`;
  }
  return `EXISTS (SELECT 1 FROM issue_bookmark b WHERE b.project_id = i.project_id AND b.issue_id = i.id AND ${usersCondition(ctx, key, values, 'b.user_id')})`;
}

const COLLAB_WORDS: Record<string, (ctx: FilterContext) => string> = {
  assigned: () => ASSIGNED,
  unassigned: () => `NOT ${ASSIGNED}`,
  bookmarked: (ctx) => collabCondition(ctx, 'bookmarks', ['me']),
};

function p(ctx: FilterContext, v: unknown): string {
  ctx.params.push(v);
  return `$${ctx.params.length}`;
}

function likePattern(word: string): string {
  return '%' + word.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%') + '%';
}

function tagCondition(ctx: FilterContext, key: string, values: string[] | null): string {
  const proj = p(ctx, ctx.projects.map((x) => x.id));
  const k = p(ctx, key);
  let valueCond = '';
  if (values) {
    const exact = values.filter((v) => !v.includes('*'));
    const wild = values.filter((v) => v.includes('*'));
    const parts: string[] = [];
    if (exact.length) parts.push(`tv.value = ANY(${p(ctx, exact)})`);
    // a value with * matches the whole tag value with * as wildcard (release:1.2.*)
    for (const w of wild) parts.push(`tv.value LIKE ${p(ctx, w.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%'))}`);
    valueCond = ` AND (${parts.join(' OR ')})`;
  }
  return `(i.project_id, i.id) IN (SELECT it.project_id, it.issue_id FROM tag_value tv
      JOIN issue_tag it ON it.project_id = tv.project_id AND it.tag_value_id = tv.id
     WHERE tv.project_id = ANY(${proj}) AND tv.key = ${k}${valueCond})`;
}

/** Longest relative time a filter takes: 100 years (PostgreSQL's timestamps end at 294276 AD; `-999999w` passed them). */
const MAX_AGE_SECS = 100 * 365 * 86400;

/** An absolute time as the filters take it, checked field by field: PostgreSQL refuses 2024-13-45 with an error. */
const ABS_TIME = /^(>=|<=|>|<|=)?((\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(?:Z|[+-](\d{2}):?(\d{2}))?)$/;

function validTime(m: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, s, tzh, tzm] = [3, 4, 5, 6, 7, 8, 9, 10].map((i) => (m[i] === undefined ? 0 : Number(m[i])));
  const days = new Date(Date.UTC(y!, mo!, 0)).getUTCDate(); // days in month mo
  return y! >= 1 && mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= days && h! <= 23 && mi! <= 59 && s! <= 59 && tzh! <= 15 && tzm! <= 59;
}

/** Relative (`-24h`, `+7d`) or absolute (`>2024-01-01`, `<=…`) time filters on a column. */
function timeCondition(ctx: FilterContext, col: string, key: string, value: string): string {
  const rel = /^([-+])(\d{1,6})([smhdw])$/.exec(value);
  if (rel) {
    const secs = Number(rel[2]) * UNIT_SECS[rel[3]!]!;
    if (secs > MAX_AGE_SECS) throw new HttpError('invalid_request', `${key}: at most 100 years (36500d), got ${JSON.stringify(value)}`);
    const ago = `now() - make_interval(secs => ${p(ctx, secs)}::float8)`;
    // "-24h" = within the last 24 hours; "+24h" = longer ago than that (Sentry's meaning)
    return rel[1] === '-' ? `${col} >= ${ago}` : `${col} < ${ago}`;
  }
  const abs = ABS_TIME.exec(value);
  if (abs && validTime(abs)) return `${col} ${abs[1] ?? '>='} ${p(ctx, abs[2])}::timestamptz`;
  throw new HttpError('invalid_request', `${key}: expects -24h, +7d or a date like >2024-01-31, got ${JSON.stringify(value)}`);
}

function numberCondition(ctx: FilterContext, col: string, key: string, value: string): string {
  const m = /^(>=|<=|>|<|=)?(\d{1,15})$/.exec(value);
  if (!m) throw new HttpError('invalid_request', `${key}: expects a number like >10 (at most 15 digits), got ${JSON.stringify(value)}`);
  return `${col} ${m[1] ?? '='} ${p(ctx, Number(m[2]))}`;
}

function one(ctx: FilterContext, f: SearchFilter): string {
  const key = f.key;
  // `key:[]` would be an empty OR: it matches nothing, and is almost certainly a typo
  if (!f.values.length || f.values.every((v) => v === '')) throw new HttpError('invalid_request', `${key}: needs a value (an empty list [] matches nothing)`);
  const v0 = f.values[0] ?? '';
  switch (key) {
    case 'is': {
      const parts = f.values.map((v) => {
        const w = v.toLowerCase();
        // own keys only: "constructor" is no status
        if (Object.hasOwn(COLLAB_WORDS, w)) return `(${COLLAB_WORDS[w]!(ctx)})`;
        const c = Object.hasOwn(STATUS_WORDS, w) ? STATUS_WORDS[w] : undefined;
        if (!c) throw new HttpError('invalid_request', `invalid is: value ${JSON.stringify(v)}; use unresolved, resolved, ignored, regressed, new, ongoing, assigned, unassigned, bookmarked, ...`);
        return `(${c})`;
      });
      return parts.join(' OR ');
    }
    case 'assigned':
    case 'bookmarks':
      return collabCondition(ctx, key, f.values);
    case 'level':
      return `i.level = ANY(${p(ctx, f.values.map((v) => v.toLowerCase()))})`;
    case 'project': {
      const ids = ctx.projects.filter((x) => f.values.includes(x.slug) || f.values.includes(String(x.id))).map((x) => x.id);
      return `i.project_id = ANY(${p(ctx, ids)})`;
    }
    case 'issue':
    case 'issue.id':
    case 'id': {
      const ids: number[] = [];
      const shorts: { slug: string; counter: number }[] = [];
      for (const v of f.values) {
        if (/^\d{1,15}$/.test(v)) ids.push(Number(v));
        else if (/^\d+$/.test(v)) continue; // longer than any id: matches nothing
        else {
          const s = parseShortId(v);
          if (s) shorts.push(s);
        }
      }
      const parts = [`i.id = ANY(${p(ctx, ids)})`];
      for (const s of shorts) {
        const proj = ctx.projects.find((x) => x.slug === s.slug);
        if (proj) parts.push(`(i.project_id = ${p(ctx, proj.id)} AND i.short_id = ${p(ctx, s.counter)})`);
      }
      return parts.join(' OR ');
    }
    case 'title':
    case 'message':
      return f.values.map((v) => `(i.title ILIKE ${p(ctx, likePattern(v))} OR i.culprit ILIKE ${p(ctx, likePattern(v))})`).join(' OR ');
    case 'has':
      return f.values.map((v) => tagCondition(ctx, v === 'user' ? 'user' : v, null)).join(' OR ');
    case 'age':
    case 'firstSeen':
    case 'first_seen':
      return timeCondition(ctx, 'i.first_seen', key, v0);
    case 'lastSeen':
    case 'last_seen':
      return timeCondition(ctx, 'i.last_seen', key, v0);
    case 'timesSeen':
    case 'times_seen':
      return numberCondition(ctx, 'i.event_count', key, v0);
    case 'userCount':
    case 'user_count':
      return numberCondition(ctx, 'i.user_count', key, v0);
    case 'user.id':
    case 'user.email':
    case 'user.username':
    case 'user.ip':
      // the `user` tag holds the first of "id:…", "username:…", "email:…", "ip:…" the event had
      // (Sentry's form), so user.email matches only users that came without an id or username
      return tagCondition(ctx, 'user', f.values.map((v) => `${key.slice(5)}:${v}`));
    default:
      // release, environment and every other key are event tags
      return tagCondition(ctx, key, f.values);
  }
}

/** SQL conditions (to be ANDed) for a search over `issue i`. */
export function searchConditions(ctx: FilterContext, search: ParsedSearch): string[] {
  const out: string[] = [];
  for (const f of search.filters) {
    const c = one(ctx, f);
    out.push(f.negate ? `NOT (${c})` : `(${c})`);
  }
  for (const word of search.text) {
    const alts = [`i.title ILIKE ${p(ctx, likePattern(word))}`, `i.culprit ILIKE ${p(ctx, likePattern(word))}`];
    // Typing an issue's short id finds it, as in Sentry's search bar.
    const s = parseShortId(word);
    const proj = s && ctx.projects.find((x) => x.slug === s.slug);
    if (s && proj) alts.push(`(i.project_id = ${p(ctx, proj.id)} AND i.short_id = ${p(ctx, s.counter)})`);
    out.push(`(${alts.join(' OR ')})`);
  }
  return out;
}

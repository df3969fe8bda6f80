import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { clientIp, ipBucketKey } from '../ratelimit/client-ip.js';

// Failed logins counted in the table login_throttle (migrations/0012, 0023), so that every server
// process on the database decides alike. Three counts, each in a fixed window from its first failure:
//   ip       the client address (IPv6 per /64), whatever the accounts: LOGIN_MAX_FAILURES_PER_IP, then 429
//   pair     one account from one address: LOGIN_MAX_FAILURES_PER_ACCOUNT, then 429 for that pair only
//   account  the account (the e-mail, lower case, whether or not it exists) from every address: never
//            refused (else anyone could lock anyone out with a few wrong passwords), but past
//            LOGIN_MAX_FAILURES_PER_ACCOUNT each attempt waits before its password is checked — 1 s,
//            doubling per further failure, at most LOGIN_BACKOFF_MAX_SECS — and attempts queue behind
//            each other (account.not_before): a guesser with a thousand addresses gets one guess per
//            wait, the owner gets in after one wait. Refusals come before any scrypt (a check costs
//            ~350 ms of one core, see password.ts; a refusal two small queries).
//
// An attempt is charged BEFORE its password is checked, by an upsert that only counts while the key
// is under its limit: concurrent guesses (up to 16 wait for scrypt in each process) cannot get past
// the limit between a check and the write of their failure. A success gives the address its charge
// back and clears the pair and the account; an attempt that failed for another reason (too many
// scrypts waiting, the database) gives all back. Refused attempts write nothing, so rows are only
// made by attempts that passed the limits: at most (addresses seen in a window) × (per-IP limit + 1)
// × 3 rows, and the prune below deletes rows whose window ended.

export type Scope = 'ip' | 'pair' | 'account';

export interface LoginKeys {
  /** The client address as bucketed (IPv4 address, IPv6 /64), for logs and the ip row. */
  ip: string;
  /** The e-mail as counted: trimmed, lower case. */
  account: string;
}

/** The pair row's key: the account first, so that all pairs of an account share a prefix. */
const pairKey = (k: LoginKeys) => `${k.account}\n${k.ip}`;

export interface Refusal {
  /** the count at its limit: the address (any account) or this account from this address */
  scope: 'ip' | 'pair';
  retryAfterSecs: number;
}

/** An attempt let through: how long it must wait before its password is checked (0: at once). */
export interface Admission {
  waitSecs: number;
}

interface Limits {
  ip: number;
  pair: number;
  backoffMaxSecs: number;
  windowSecs: number;
}

const limitsOf = (c: Readonly<Config>): Limits => ({
  ip: c.loginMaxFailuresPerIp,
  pair: c.loginMaxFailuresPerAccount,
  backoffMaxSecs: c.loginBackoffMaxSecs,
  windowSecs: c.loginFailureWindowSecs,
});

/** ui_user.email is at most 254 characters; a longer "e-mail" is counted by its first 320. */
export function accountKey(email: string): string {
  return email.trim().toLowerCase().slice(0, 320);
}

export function loginKeys(req: IncomingMessage, config: Readonly<Config>, email: string): LoginKeys {
  return { ip: ipBucketKey(clientIp(req, config)), account: accountKey(email) };
}

/** The (scope, key) pairs counted: those whose limit is on (0 = off); the account with the pair. */
function counted(keys: LoginKeys, l: Limits): { scopes: Scope[]; keys: string[] } {
  const scopes: Scope[] = [];
  const out: string[] = [];
  if (l.ip > 0) scopes.push('ip'), out.push(keys.ip);
  if (l.pair > 0) scopes.push('pair', 'account'), out.push(pairKey(keys), keys.account);
  return { scopes, keys: out };
}

const WINDOW = 'make_interval(secs => $3)';

// The limit of a scope: the account is never refused (2^31 - 1: no limit).
const LIMIT = `CASE t.scope WHEN 'ip' THEN $4::int WHEN 'pair' THEN $5::int ELSE 2147483647 END`;

// Keys at their limit in a window not yet over, and how long until it is.
const BLOCKED_SQL = `
  SELECT t.scope, greatest(1, ceil(extract(epoch FROM t.window_start + ${WINDOW} - now())))::int AS retry_after
    FROM login_throttle t JOIN unnest($1::text[], $2::text[]) AS k(scope, key) ON t.scope = k.scope AND t.key = k.key
   WHERE t.window_start > now() - ${WINDOW}
     AND t.failures >= ${LIMIT}`;

// One more failure for each key still under its limit (a key whose window ended starts a new one);
// the row lock of ON CONFLICT DO UPDATE serializes concurrent attempts on a key. Returns the keys charged.
const CHARGE_SQL = `
  INSERT INTO login_throttle AS t (scope, key, failures, window_start)
  SELECT scope, key, 1, now() FROM unnest($1::text[], $2::text[]) AS k(scope, key)
  ON CONFLICT (scope, key) DO UPDATE
     SET failures = CASE WHEN t.window_start > now() - ${WINDOW} THEN t.failures + 1 ELSE 1 END,
         window_start = CASE WHEN t.window_start > now() - ${WINDOW} THEN t.window_start ELSE now() END
   WHERE t.window_start <= now() - ${WINDOW}
      OR t.failures < ${LIMIT}
  RETURNING t.scope`;

// The account's backoff, once this attempt is charged to it: with f earlier failures in the window
// (f >= the limit $2) the attempt waits 2^(f - $2) s after the previous attempt's slot (at most $3 s
// from now), and takes that slot (not_before). The row lock queues concurrent attempts.
const BACKOFF_SQL = `
  WITH a AS (
    SELECT failures - 1 AS f, greatest(now(), coalesce(not_before, now())) AS slot
      FROM login_throttle WHERE scope = 'account' AND key = $1 FOR UPDATE),
  d AS (
    SELECT least(now() + make_interval(secs => $3), a.slot + make_interval(secs => least($3, power(2, least(a.f - $2, 30))))) AS at
      FROM a WHERE a.f >= $2)
  UPDATE login_throttle t SET not_before = d.at FROM d
   WHERE t.scope = 'account' AND t.key = $1
  RETURNING greatest(0, extract(epoch FROM d.at - now()))::float8 AS wait`;

// Gives back one charge per key (the attempt did not fail on its password).
const REFUND_SQL = `
  UPDATE login_throttle t SET failures = t.failures - 1
    FROM unnest($1::text[], $2::text[]) AS k(scope, key)
   WHERE t.scope = k.scope AND t.key = k.key AND t.failures > 0`;

// A success: the account and this pair start over, the address gets this attempt's charge back.
const SUCCEEDED_SQL = `
  WITH cleared AS (DELETE FROM login_throttle WHERE (scope = 'account' AND key = $2) OR (scope = 'pair' AND key = $3))
  UPDATE login_throttle SET failures = failures - 1 WHERE scope = 'ip' AND key = $1 AND failures > 0`;

const PRUNE_SQL = `DELETE FROM login_throttle WHERE window_start <= now() - make_interval(secs => $1)`;

// Stale rows are harmless (the next attempt resets them), so one prune a minute per process is plenty.
const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;

function prune(db: pg.Pool, l: Limits, log: Logger): void {
  const now = Date.now();
  if (now - lastPrune < PRUNE_EVERY_MS) return;
  lastPrune = now;
  db.query(PRUNE_SQL, [l.windowSecs]).catch((e: Error) => log.warn('login throttle prune failed', { error: e.message }));
}

async function blocked(db: pg.Pool, l: Limits, c: { scopes: Scope[]; keys: string[] }): Promise<Refusal | null> {
  const { rows } = await db.query<{ scope: Scope; retry_after: number }>(BLOCKED_SQL, [c.scopes, c.keys, l.windowSecs, l.ip, l.pair]);
  if (!rows.length) return null;
  // Both at their limit: the later one decides when an attempt can pass; the address names the wider refusal.
  const retryAfterSecs = Math.max(...rows.map((r) => r.retry_after));
  return { scope: rows.some((r) => r.scope === 'ip') ? 'ip' : 'pair', retryAfterSecs };
}

/**
 * Counts this attempt as a failure of its address, its pair and its account, unless the address or
 * the pair is at its limit: then nothing is written and the refusal says which and for how long.
 * Else it says how long the attempt must wait (the account's backoff). Call before checking the
 * password, and then `loginSucceeded` or `refundAttempt` unless it failed on the password.
 */
export async function chargeAttempt(db: pg.Pool, config: Readonly<Config>, keys: LoginKeys, log: Logger): Promise<Refusal | Admission> {
  const l = limitsOf(config);
  const c = counted(keys, l);
  if (!c.scopes.length) return { waitSecs: 0 };
  const refused = await blocked(db, l, c);
  if (refused) return refused;
  const { rows } = await db.query<{ scope: Scope }>(CHARGE_SQL, [c.scopes, c.keys, l.windowSecs, l.ip, l.pair]);
  prune(db, l, log);
  if (rows.length === c.scopes.length) {
    if (l.pair <= 0 || l.backoffMaxSecs <= 0) return { waitSecs: 0 };
    const b = await db.query<{ wait: number }>(BACKOFF_SQL, [keys.account, l.pair, l.backoffMaxSecs]);
    return { waitSecs: b.rows[0]?.wait ?? 0 };
  }
  // Another attempt reached a limit between the check and the charge: give back what was charged.
  const charged = new Set(rows.map((r) => r.scope));
  const back = c.scopes.flatMap((s, i) => (charged.has(s) ? [{ scope: s, key: c.keys[i]! }] : []));
  if (back.length) await db.query(REFUND_SQL, [back.map((b) => b.scope), back.map((b) => b.key)]);
  return (await blocked(db, l, c)) ?? { scope: charged.has('ip') ? 'pair' : 'ip', retryAfterSecs: 1 };
}

/**
 * A request that costs its address like a failed log-in and nothing else (a password-reset request,
 * which checks no password and must not slow the account's own log-ins): null when let through, else
 * the refusal (the address is at LOGIN_MAX_FAILURES_PER_IP).
 */
export async function chargeAddress(db: pg.Pool, config: Readonly<Config>, ip: string, log: Logger): Promise<Refusal | null> {
  const l = limitsOf(config);
  if (l.ip <= 0) return null;
  const c = { scopes: ['ip'] as Scope[], keys: [ip] };
  const refused = await blocked(db, l, c);
  if (refused) return refused;
  const { rows } = await db.query(CHARGE_SQL, [c.scopes, c.keys, l.windowSecs, l.ip, l.pair]);
  prune(db, l, log);
  return rows.length ? null : ((await blocked(db, l, c)) ?? { scope: 'ip', retryAfterSecs: 1 });
}

/** The attempt was charged but its password never checked (e.g. too many scrypts waiting): give it back. */
export async function refundAttempt(db: pg.Pool, config: Readonly<Config>, keys: LoginKeys): Promise<void> {
  const c = counted(keys, limitsOf(config));
  if (c.scopes.length) await db.query(REFUND_SQL, [c.scopes, c.keys]);
}

/** A new password set by an administrator unlocks the account at once, from every address (users.ts `setPassword`). */
export async function clearAccount(db: pg.ClientBase, email: string): Promise<void> {
  const account = accountKey(email);
  await db.query(`DELETE FROM login_throttle WHERE (scope = 'account' AND key = $1) OR (scope = 'pair' AND starts_with(key, $2))`, [account, `${account}\n`]);
}

/** The right password: the account's failures are forgotten, the address is not charged. */
export async function loginSucceeded(db: pg.Pool, config: Readonly<Config>, keys: LoginKeys): Promise<void> {
  const l = limitsOf(config);
  if (l.ip > 0 || l.pair > 0) await db.query(SUCCEEDED_SQL, [keys.ip, keys.account, pairKey(keys)]);
}

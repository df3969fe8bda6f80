import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { clientIp, ipBucketKey } from '../ratelimit/client-ip.js';

// Failed logins counted per client address (IPv6 per /64) and per account (the e-mail, lower case,
// whether or not it exists) in the table login_throttle (migrations/0012), so that every server process
// on the database refuses the same guesses. A fixed window starts at the first failure of a key;
// at LOGIN_MAX_FAILURES_PER_* failures in it, attempts are refused until it ends, before any scrypt
// (a check costs ~350 ms of one core, see password.ts; a refusal two small queries).
//
// An attempt is charged BEFORE its password is checked, by an upsert that only counts while the key
// is under its limit: concurrent guesses (up to 16 wait for scrypt in each process) cannot get past
// the limit between a check and the write of their failure. A success gives the address its charge
// back and clears the account; an attempt that failed for another reason (too many scrypts waiting,
// the database) gives both back. Refused attempts write nothing, so rows are only made by attempts
// that passed both limits: at most (addresses seen in a window) × (per-IP limit + 1) rows, and the
// prune below deletes rows whose window ended.

export type Scope = 'ip' | 'account';

export interface LoginKeys {
  /** The client address as bucketed (IPv4 address, IPv6 /64), for logs and the ip row. */
  ip: string;
  /** The e-mail as counted: trimmed, lower case. */
  account: string;
}

export interface Refusal {
  scope: Scope;
  retryAfterSecs: number;
}

interface Limits {
  ip: number;
  account: number;
  windowSecs: number;
}

const limitsOf = (c: Readonly<Config>): Limits => ({
  ip: c.loginMaxFailuresPerIp,
  account: c.loginMaxFailuresPerAccount,
  windowSecs: c.loginFailureWindowSecs,
});

/** ui_user.email is at most 254 characters; a longer "e-mail" is counted by its first 320. */
export function accountKey(email: string): string {
  return email.trim().toLowerCase().slice(0, 320);
}

export function loginKeys(req: IncomingMessage, config: Readonly<Config>, email: string): LoginKeys {
  return { ip: ipBucketKey(clientIp(req, config)), account: accountKey(email) };
}

/** The (scope, key) pairs whose limit is on (0 = off). */
function counted(keys: LoginKeys, l: Limits): { scopes: Scope[]; keys: string[] } {
  const scopes: Scope[] = [];
  const out: string[] = [];
  if (l.ip > 0) scopes.push('ip'), out.push(keys.ip);
  if (l.account > 0) scopes.push('account'), out.push(keys.account);
  return { scopes, keys: out };
}

const WINDOW = 'make_interval(secs => $3)';

// Keys at their limit in a window not yet over, and how long until it is.
const BLOCKED_SQL = `
  SELECT t.scope, greatest(1, ceil(extract(epoch FROM t.window_start + ${WINDOW} - now())))::int AS retry_after
    FROM login_throttle t JOIN unnest($1::text[], $2::text[]) AS k(scope, key) ON t.scope = k.scope AND t.key = k.key
   WHERE t.window_start > now() - ${WINDOW}
     AND t.failures >= CASE t.scope WHEN 'ip' THEN $4::int ELSE $5::int END`;

// One more failure for each key still under its limit (a key whose window ended starts a new one);
// the row lock of ON CONFLICT DO UPDATE serializes concurrent attempts on a key. Returns the keys charged.
const CHARGE_SQL = `
  INSERT INTO login_throttle AS t (scope, key, failures, window_start)
  SELECT scope, key, 1, now() FROM unnest($1::text[], $2::text[]) AS k(scope, key)
  ON CONFLICT (scope, key) DO UPDATE
     SET failures = CASE WHEN t.window_start > now() - ${WINDOW} THEN t.failures + 1 ELSE 1 END,
         window_start = CASE WHEN t.window_start > now() - ${WINDOW} THEN t.window_start ELSE now() END
   WHERE t.window_start <= now() - ${WINDOW}
      OR t.failures < CASE t.scope WHEN 'ip' THEN $4::int ELSE $5::int END
  RETURNING t.scope`;

// Gives back one charge per key (the attempt did not fail on its password).
const REFUND_SQL = `
  UPDATE login_throttle t SET failures = t.failures - 1
    FROM unnest($1::text[], $2::text[]) AS k(scope, key)
   WHERE t.scope = k.scope AND t.key = k.key AND t.failures > 0`;

// A success: the account starts over, the address gets this attempt's charge back.
const SUCCEEDED_SQL = `
  WITH cleared AS (DELETE FROM login_throttle WHERE scope = 'account' AND key = $2)
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
  const { rows } = await db.query<{ scope: Scope; retry_after: number }>(BLOCKED_SQL, [c.scopes, c.keys, l.windowSecs, l.ip, l.account]);
  if (!rows.length) return null;
  // Both at their limit: the later one decides when an attempt can pass; the address names the wider refusal.
  const retryAfterSecs = Math.max(...rows.map((r) => r.retry_after));
  return { scope: rows.some((r) => r.scope === 'ip') ? 'ip' : 'account', retryAfterSecs };
}

/**
 * Counts this attempt as a failure of its address and account, unless one of them is at its limit:
 * then nothing is written and the refusal says which and for how long. Call before checking the
 * password, and then `loginSucceeded` or `refundAttempt` unless it failed on the password.
 */
export async function chargeAttempt(db: pg.Pool, config: Readonly<Config>, keys: LoginKeys, log: Logger): Promise<Refusal | null> {
  const l = limitsOf(config);
  const c = counted(keys, l);
  if (!c.scopes.length) return null;
  const refused = await blocked(db, l, c);
  if (refused) return refused;
  const { rows } = await db.query<{ scope: Scope }>(CHARGE_SQL, [c.scopes, c.keys, l.windowSecs, l.ip, l.account]);
  prune(db, l, log);
  if (rows.length === c.scopes.length) return null;
  // Another attempt reached a limit between the check and the charge: give back what was charged.
  const charged = new Set(rows.map((r) => r.scope));
  const back = c.scopes.flatMap((s, i) => (charged.has(s) ? [{ scope: s, key: c.keys[i]! }] : []));
  if (back.length) await db.query(REFUND_SQL, [back.map((b) => b.scope), back.map((b) => b.key)]);
  return (await blocked(db, l, c)) ?? { scope: charged.has('ip') ? 'account' : 'ip', retryAfterSecs: 1 };
}

/** The attempt was charged but its password never checked (e.g. too many scrypts waiting): give it back. */
export async function refundAttempt(db: pg.Pool, config: Readonly<Config>, keys: LoginKeys): Promise<void> {
  const c = counted(keys, limitsOf(config));
  if (c.scopes.length) await db.query(REFUND_SQL, [c.scopes, c.keys]);
}

/** A new password set by an administrator unlocks the account at once (users.ts `setPassword`). */
export async function clearAccount(db: pg.ClientBase, email: string): Promise<void> {
  await db.query(`DELETE FROM login_throttle WHERE scope = 'account' AND key = $1`, [accountKey(email)]);
}

/** The right password: the account's failures are forgotten, the address is not charged. */
export async function loginSucceeded(db: pg.Pool, config: Readonly<Config>, keys: LoginKeys): Promise<void> {
  const l = limitsOf(config);
  if (l.ip > 0 || l.account > 0) await db.query(SUCCEEDED_SQL, [keys.ip, keys.account]);
}

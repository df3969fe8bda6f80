import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { dummyHash, hashPassword, verifyPassword } from '../../src/ui/password.js';
import { cookiesOf, loginForm } from './web.js';

// Failed logins counted per client address, per (address, account) and per account in PostgreSQL,
// over real HTTP against the built server. The server trusts 127.0.0.1 as a proxy, so X-Forwarded-For
// sets the client address. Limits are lowered to 3 per (address, account) and 5 per address, and the
// account's backoff to at most 1 s: every counted attempt costs a real scrypt (~350 ms), ~25 of them
// in this file. A slowed attempt is seen in the log and in the account's not_before, not by timing.

let db: TestDatabase;
let one: RunningServer;
let two: RunningServer;
const PASSWORD = 'correct horse battery staple';
const USERS = ['a', 'b', 'c', 'd', 'e'].map((u) => `${u}@example.com`);
const env = () => ({ DATABASE_URL: db.url, TRUSTED_PROXIES: '127.0.0.1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '5', LOGIN_BACKOFF_MAX_SECS: '1' });
let userHash: string;

const csrf = new Map<RunningServer, { csrf: string; cookie: string }>();

async function attempt(server: RunningServer, ip: string, email: string, password: string): Promise<Response> {
  let f = csrf.get(server);
  if (!f) csrf.set(server, (f = await loginForm(server)));
  return fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie, 'x-forwarded-for': ip },
    body: new URLSearchParams({ _csrf: f.csrf, email, password, next: '/projects' }).toString(),
  });
}

async function failures(scope: string, key: string): Promise<number | undefined> {
  const { rows } = await db.pool.query('SELECT failures FROM login_throttle WHERE scope = $1 AND key = $2', [scope, key]);
  return rows[0]?.failures;
}

beforeAll(async () => {
  db = await freshDatabase();
  // One hash for every user: five users without five more scrypts.
  userHash = await hashPassword(PASSWORD);
  await db.pool.query('INSERT INTO ui_user (email, password_hash) SELECT unnest($1::text[]), $2', [USERS, userHash]);
  // A row whose window ended long ago: pruned by the first counted attempt.
  await db.pool.query(`INSERT INTO login_throttle VALUES ('account', 'stale@example.com', 99, now() - interval '1 day')`);
  [one, two] = await Promise.all([startServer(env()), startServer(env())]);
});

afterAll(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
  await db?.drop();
});

describe('login throttling', () => {
  it('refuses the right password after 3 wrong ones for the account from that address (any case), with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await attempt(one, '203.0.113.1', 'a@example.com', `wrong ${i}`);
      expect(r.status).toBe(401);
      expect(await r.text()).toContain('Wrong e-mail or password.');
    }
    const refused = await attempt(one, '203.0.113.1', 'a@example.com', PASSWORD);
    expect(refused.status).toBe(429);
    const retry = Number(refused.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(900);
    expect(refused.headers.get('content-type')).toMatch(/text\/html/);
    expect(await refused.text()).toMatch(/Too many failed log-ins for this e-mail address from your address\. Try again in \d+ minutes\./);
    expect(cookiesOf(refused).cc_session).toBeUndefined();
    // the pair is counted whatever the spelling
    const spelled = await attempt(one, '203.0.113.1', ' A@Example.COM', PASSWORD);
    expect(spelled.status).toBe(429);
    expect(await failures('pair', 'a@example.com\n203.0.113.1')).toBe(3);
    expect(await failures('account', 'a@example.com')).toBe(3);

    // another account from another address still logs in
    const b = await attempt(one, '198.51.100.7', 'b@example.com', PASSWORD);
    expect(b.status).toBe(303);
    expect(cookiesOf(b).cc_session).toMatch(/./);

    const refusal = one.logs.map((l) => JSON.parse(l.startsWith('{') ? l : '{}')).find((l) => l.msg === 'login refused');
    expect(refusal).toMatchObject({ level: 'warn', limit: 'pair', ip: '203.0.113.1', email: 'a@example.com' });
    expect(one.logs.join('\n')).not.toContain(PASSWORD);
    expect(one.logs.join('\n')).not.toContain('wrong 0');
  });

  it('refuses without checking the password: 30 at once all get the page, none is counted', async () => {
    // A checked password waits for the one scrypt at a time (password.ts), and beyond 16 waiting gets a
    // JSON 429 "too many login attempts at once"; refused attempts never reach it.
    const rs = await Promise.all(Array.from({ length: 30 }, () => attempt(one, '203.0.113.1', 'a@example.com', PASSWORD)));
    for (const r of rs) {
      expect(r.status).toBe(429);
      expect(await r.text()).toContain('Too many failed log-ins for this e-mail address');
    }
    expect(await failures('pair', 'a@example.com\n203.0.113.1')).toBe(3);
    expect(await failures('account', 'a@example.com')).toBe(3);
  });

  it('does not lock the owner out from another address: slows the account instead, then lets the right password in', async () => {
    // 203.0.113.1 failed 3 times (the limit): another address is not refused, but waits before its
    // password is checked — a second guesser waits behind the first (the account's not_before)
    const guess = await attempt(one, '198.51.100.9', 'a@example.com', 'wrong again');
    expect(guess.status).toBe(401);
    const slowed = one.logs.map((l) => JSON.parse(l.startsWith('{') ? l : '{}')).filter((l) => l.msg === 'login slowed');
    expect(slowed).toHaveLength(1);
    expect(slowed[0]).toMatchObject({ ip: '198.51.100.9', email: 'a@example.com' });
    expect(slowed[0].wait_secs).toBeGreaterThan(0);
    expect(slowed[0].wait_secs).toBeLessThanOrEqual(1); // LOGIN_BACKOFF_MAX_SECS
    expect(await failures('account', 'a@example.com')).toBe(4);
    const { rows } = await db.pool.query(`SELECT not_before IS NOT NULL AS queued FROM login_throttle WHERE scope = 'account' AND key = 'a@example.com'`);
    expect(rows[0].queued).toBe(true);
    // the owner, from yet another address, gets in (slowed too), and the account starts over
    const owner = await attempt(one, '198.51.100.10', 'a@example.com', PASSWORD);
    expect(owner.status).toBe(303);
    expect(one.logs.filter((l) => l.includes('"login slowed"'))).toHaveLength(2);
    expect(await failures('account', 'a@example.com')).toBeUndefined();
    // the locked pair stays locked for its window
    expect((await attempt(one, '203.0.113.1', 'a@example.com', PASSWORD)).status).toBe(429);
  });

  it('lets the pair in again when its window has ended', async () => {
    await db.pool.query(`UPDATE login_throttle SET window_start = now() - interval '901 seconds' WHERE scope = 'pair' AND key = 'a@example.com' || chr(10) || '203.0.113.1'`);
    expect((await attempt(one, '203.0.113.1', 'a@example.com', PASSWORD)).status).toBe(303);
  });

  it('counts failures per address across accounts, unknown e-mails included, IPv6 per /64', async () => {
    for (let i = 1; i <= 5; i++) {
      const r = await attempt(one, `2001:db8:1:2::${i}`, `nobody${i}@example.com`, PASSWORD);
      expect(r.status).toBe(401);
      expect(await r.text()).toContain('Wrong e-mail or password.');
    }
    // an unknown e-mail counts like a wrong password for its "account" too
    expect(await failures('account', 'nobody1@example.com')).toBe(1);
    expect(await failures('ip', '2001:db8:1:2::/64')).toBe(5);
    const refused = await attempt(one, '2001:db8:1:2:ffff::abcd', 'c@example.com', PASSWORD);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('Too many failed log-ins from your address.');
    expect(one.logs.some((l) => l.includes('"login refused"') && l.includes('"limit":"ip"') && l.includes('2001:db8:1:2::/64'))).toBe(true);
    // the refusal was not counted against the account, and the next /64 is another client
    expect(await failures('account', 'c@example.com')).toBeUndefined();
    expect((await attempt(one, '2001:db8:1:3::1', 'c@example.com', PASSWORD)).status).toBe(303);
  });

  it('forgets the account failures on success, and does not count a success against the address', async () => {
    const ip = '192.0.2.10';
    expect((await attempt(one, ip, 'd@example.com', 'wrong')).status).toBe(401);
    expect((await attempt(one, ip, 'd@example.com', 'wrong')).status).toBe(401);
    expect(await failures('account', 'd@example.com')).toBe(2);
    expect((await attempt(one, ip, 'd@example.com', PASSWORD)).status).toBe(303);
    expect(await failures('account', 'd@example.com')).toBeUndefined();
    // without the reset the second of these would be the 4th failure in the window
    expect((await attempt(one, ip, 'd@example.com', 'wrong')).status).toBe(401);
    expect((await attempt(one, ip, 'd@example.com', 'wrong')).status).toBe(401);
    expect(await failures('account', 'd@example.com')).toBe(2);
    expect(await failures('ip', ip)).toBe(4);
  });

  it('shares the counts between two server processes on one database', async () => {
    const ip = '192.0.2.20';
    expect((await attempt(one, ip, 'e@example.com', 'wrong')).status).toBe(401);
    expect((await attempt(two, ip, 'e@example.com', 'wrong')).status).toBe(401);
    expect((await attempt(one, ip, 'e@example.com', 'wrong')).status).toBe(401);
    expect((await attempt(two, ip, 'e@example.com', PASSWORD)).status).toBe(429);
    expect((await attempt(one, ip, 'e@example.com', PASSWORD)).status).toBe(429);
  });

  it('unlocks an account from every address when an administrator sets a new password', async () => {
    expect((await attempt(one, '192.0.2.20', 'e@example.com', PASSWORD)).status).toBe(429);
    await cli(['user', 'password', '--email', 'E@example.com', '--password', 'a brand new password'], { DATABASE_URL: db.url });
    expect(await failures('account', 'e@example.com')).toBeUndefined();
    expect(await failures('pair', 'e@example.com\n192.0.2.20')).toBeUndefined();
    expect((await attempt(two, '192.0.2.20', 'e@example.com', 'a brand new password')).status).toBe(303);
  });

  it('deletes rows whose window has ended', async () => {
    // The prune runs (without being awaited) after the first counted attempt of each process.
    for (let i = 0; i < 100 && (await failures('account', 'stale@example.com')) !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await failures('account', 'stale@example.com')).toBeUndefined();
  });

  it('checks an unknown e-mail against a hash that costs as much as a real one and never matches', async () => {
    const params = (h: string) => h.split('$').slice(0, 4).join('$');
    expect(params(dummyHash())).toBe(params(userHash));
    expect(dummyHash()).toBe(dummyHash());
    expect(await verifyPassword(PASSWORD, dummyHash())).toBe(false);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { until } from '../helpers/poll.js';
import { decodeQp, startSmtp, subjectOf, type SmtpReceiver } from '../alerts/smtp-receiver.js';
import { createUser, setPassword } from '../../src/ui/users.js';
import { cookiesOf, getPage, hidden, logIn, loginForm, postForm } from './web.js';

// "Forgot your password?" over real HTTP against the built server, with a real SMTP server: the
// link e-mailed, the new password set once, every session ended; the same answer for an address
// without an account, a single-sign-on account, or one asked for a moment ago; used, expired,
// replaced and unknown links refused with their reason; the address throttled; and a server that
// cannot send e-mail offering nothing.

let db: TestDatabase;
let server: RunningServer;
let smtp: SmtpReceiver;
const OLD = 'the old password';
const NEW = 'a brand new password';
const IP_LIMIT = 12;

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  for (const u of ['ann', 'bob', 'cay', 'dee']) await createUser(db.pool, `${u}@example.com`, OLD, u === 'ann' ? 'owner' : 'member');
  await db.pool.query("INSERT INTO ui_user (email, role, all_projects) VALUES ('sso@example.com', 'member', true)"); // no password: single sign-on only
  server = await startServer({ DATABASE_URL: db.url, PUBLIC_URL: 'http://cc.example', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@cc.example', LOGIN_MAX_FAILURES_PER_IP: String(IP_LIMIT) });
}, 60_000);
beforeEach(() => {
  smtp.mails.length = 0;
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  await db?.drop();
});

let requests = 0;
/** Asks for a link from the form; returns the answer's status and page. */
async function ask(email: string): Promise<{ status: number; page: string }> {
  requests++;
  const f = await loginForm(server);
  const r = await postForm(server, '/password/forgot', { _csrf: f.csrf, email }, f.cookie);
  return { status: r.status, page: await r.text() };
}
const links = async (email: string) => (await db.pool.query('SELECT r.used_at FROM password_reset r JOIN ui_user u ON u.id = r.user_id WHERE u.email = $1 ORDER BY r.id', [email])).rows;
const SENT = /If (\S+) is the address of an account here that logs in with a password, a link to choose a new one is on its way/;
/** The link of the e-mail to `email`, once it has arrived. */
async function linkFor(email: string): Promise<string> {
  const mail = await until(`reset e-mail to ${email}`, async () => smtp.mails.find((m) => m.to.includes(email)), (m) => m !== undefined, 10_000);
  expect(subjectOf(mail!.raw)).toBe('Reset your crash-cache password');
  return /http:\/\/cc\.example(\/password\/reset\/[A-Za-z0-9_-]{43})/.exec(decodeQp(mail!.raw))![1]!;
}
/** Sets a password through a link's form. */
async function choose(link: string, password: string, password2 = password): Promise<Response> {
  const r = await fetch(`${server.url}${link}`);
  const cookie = Object.entries(cookiesOf(r)).map(([k, v]) => `${k}=${v}`).join('; ');
  const page = await r.text();
  return postForm(server, link, { _csrf: hidden(page, '_csrf'), password, password2 }, cookie);
}
const canLogIn = async (email: string, password: string) => {
  const f = await loginForm(server);
  return (await postForm(server, '/login', { _csrf: f.csrf, email, password, next: '/projects' }, f.cookie)).status === 303;
};

describe('forgot your password', () => {
  it('the login page offers it; a link is e-mailed; it sets the password once and ends every session', async () => {
    const login = await (await fetch(`${server.url}/login`)).text();
    expect(login).toContain('<a href="/password/forgot" id="forgot">Forgot your password?</a>');
    const elsewhere = await logIn(server, 'ann@example.com', OLD);

    const { status, page } = await ask('ANN@example.com ');
    expect(status).toBe(200);
    expect(SENT.exec(page)?.[1]).toBe('ANN@example.com');
    const link = await linkFor('ann@example.com');
    const mail = decodeQp(smtp.mails[0]!.raw);
    expect(mail).toContain('asked to reset the crash-cache password of ann@example.com');
    expect(mail).toMatch(/The link works once, until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    const form = await fetch(`${server.url}${link}`);
    expect(form.status).toBe(200);
    expect(await form.text()).toMatch(/<input id="email" type="email" value="ann@example.com" autocomplete="username" readonly>/);
    expect((await choose(link, 'short')).status).toBe(400);
    expect((await choose(link, NEW, 'something else')).status).toBe(400);
    const set = await choose(link, NEW);
    expect(set.status).toBe(303);
    expect(set.headers.get('location')).toBe('/projects');
    const session = Object.entries(cookiesOf(set)).find(([k]) => k.endsWith('cc_session'))!;
    expect((await fetch(`${server.url}/projects`, { headers: { cookie: `${session[0]}=${session[1]}` }, redirect: 'manual' })).status).toBe(200);
    // the session opened before the reset has ended
    expect((await fetch(`${server.url}/projects`, { headers: { cookie: elsewhere }, redirect: 'manual' })).status).toBe(303);
    expect(await canLogIn('ann@example.com', OLD)).toBe(false);
    expect(await canLogIn('ann@example.com', NEW)).toBe(true);
    expect(smtp.mails.map((m) => subjectOf(m.raw))).toEqual(['Reset your crash-cache password', 'Your crash-cache password was reset']);

    const again = await fetch(`${server.url}${link}`);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('This password-reset link has already been used.');
    const f = await loginForm(server);
    expect((await postForm(server, link, { _csrf: f.csrf, password: 'yet another one', password2: 'yet another one' }, f.cookie)).status).toBe(400);
    expect(await canLogIn('ann@example.com', NEW)).toBe(true);
  });

  it('answers the same when nothing is sent: no account, a single-sign-on account, a link asked for a moment ago', async () => {
    const first = await ask('bob@example.com');
    await linkFor('bob@example.com');
    for (const email of ['nobody@example.com', 'sso@example.com', 'bob@example.com']) {
      const { status, page } = await ask(email);
      expect(status).toBe(200);
      expect(page.replace(/name="_csrf" value="[^"]*"/, '').replace(email, 'X')).toBe(first.page.replace(/name="_csrf" value="[^"]*"/, '').replace('bob@example.com', 'X'));
    }
    expect(await links('sso@example.com')).toEqual([]);
    expect(await links('bob@example.com')).toHaveLength(1);
    // the link to bob was the only e-mail (a second one would have been sent by now: the answers came before)
    await until('the last request logged', async () => server.logs.filter((l) => l.includes('password reset: no link made')).length, (n) => n >= 3, 5000);
    expect(smtp.mails.map((m) => m.to)).toEqual([['bob@example.com']]);
    expect(server.logs.join('\n')).not.toContain('nobody@example.com');
  });

  it('refuses a link that expired, was replaced, was ended by a new password, or never was — saying which', async () => {
    await ask('cay@example.com');
    const expired = await linkFor('cay@example.com');
    await db.pool.query("UPDATE password_reset SET expires_at = now() - interval '1 minute', created_at = now() - interval '2 hours'");
    const r = await fetch(`${server.url}${expired}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/This password-reset link expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    smtp.mails.length = 0;
    await ask('cay@example.com');
    const older = await linkFor('cay@example.com');
    await db.pool.query("UPDATE password_reset SET created_at = now() - interval '2 minutes'");
    smtp.mails.length = 0;
    await ask('cay@example.com');
    const newer = await linkFor('cay@example.com');
    expect(newer).not.toBe(older);
    expect((await fetch(`${server.url}${older}`)).status).toBe(404);
    expect((await fetch(`${server.url}${newer}`)).status).toBe(200);
    await setPassword(db.pool, 'cay@example.com', 'set by an administrator');
    const ended = await fetch(`${server.url}${newer}`);
    expect(ended.status).toBe(404);
    expect(await ended.text()).toContain('a newer link or a new password replaced it');
    expect((await fetch(`${server.url}/password/reset/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await fetch(`${server.url}/password/reset/not-a-token`)).status).toBe(404);
    expect(await canLogIn('cay@example.com', 'set by an administrator')).toBe(true);
  });

  it('counts each request against its address like a failed log-in', async () => {
    let last = { status: 0, page: '' };
    while (requests < IP_LIMIT + 1 && last.status !== 429) last = await ask('dee@example.com');
    expect(last.status).toBe(429);
    expect(last.page).toMatch(/Too many requests from your address\. Try again in \d+ (seconds|minutes)\./);
    // the account's own log-ins are not slowed or refused by it (another address would still get in; this one is at its limit)
    expect((await db.pool.query("SELECT scope FROM login_throttle WHERE key LIKE 'dee@%'")).rows).toEqual([]);
  });
});

describe('a server that cannot send e-mail', () => {
  it('offers no reset and says why', async () => {
    const plain = await startServer({ DATABASE_URL: db.url, PUBLIC_URL: 'http://cc.example' });
    try {
      expect(await (await fetch(`${plain.url}/login`)).text()).not.toContain('Forgot your password?');
      const r = await fetch(`${plain.url}/password/forgot`);
      expect(r.status).toBe(404);
      expect(await r.text()).toContain('SMTP_URL is not set');
    } finally {
      await plain.stop();
    }
  });
});

it('the forms need their CSRF token', async () => {
  const r = await postForm(server, '/password/forgot', { email: 'ann@example.com' });
  expect(r.status).toBe(403);
  const page = await getPage(server, '/login', '');
  expect(page).toContain('Forgot your password?');
});

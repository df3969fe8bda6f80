import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { until } from '../helpers/poll.js';
import { appCode, fromBase32 } from '../helpers/totp.js';
import { decodeQp, startSmtp, subjectOf, type SmtpReceiver } from '../alerts/smtp-receiver.js';
import { createToken } from '../../src/api/tokens.js';
import { ROLE_SCOPES } from '../../src/auth/scopes.js';
import { createUser } from '../../src/ui/users.js';
import { createSession } from '../../src/ui/sessions.js';
import { cookiesOf, getPage, hidden, loginForm, postForm } from './web.js';

// Two-factor log-in over real HTTP against the built server: set-up on the Profile page (a QR code and
// the key; the first code turns it on and shows recovery codes once), a log-in that waits for the code
// after the password, codes spent once, recovery codes spent once, wrong codes counted as failed
// log-ins, a password reset that still asks for the code, turning it off with the password, and the
// CLI for a lost phone. Codes are computed here from the key the page shows, by RFC 4226/6238 directly.

let db: TestDatabase;
let server: RunningServer;
let smtp: SmtpReceiver;
let env: Record<string, string>;
let apiToken: string;
const EMAIL = 'ann@example.com';
const PASSWORD = 'ann has a password';
let key: Buffer;
let recovery: string[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  env = { DATABASE_URL: db.url };
  const u = await createUser(db.pool, EMAIL, PASSWORD, 'owner');
  apiToken = (await createToken(db.pool, 'api', { scopes: ROLE_SCOPES.owner, userId: u.id })).token;
  server = await startServer({ ...env, PUBLIC_URL: 'http://cc.example', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@cc.example' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  await db?.drop();
});

const sessionOf = (r: Response) => Object.entries(cookiesOf(r)).find(([k, v]) => k.endsWith('cc_session') && v);
/** The password step: its answer, and the cookies it set (the login CSRF's and the second factor's). */
async function password(pw = PASSWORD): Promise<{ r: Response; cookie: string }> {
  const f = await loginForm(server);
  const r = await postForm(server, '/login', { _csrf: f.csrf, email: EMAIL, password: pw, next: '/projects' }, f.cookie);
  const cookie = [f.cookie, ...Object.entries(cookiesOf(r)).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`)].join('; ');
  return { r, cookie };
}
async function sendCode(cookie: string, value: string): Promise<Response> {
  // the form's CSRF token for this cookie: from the code page, or (no log-in waiting) the login page
  let page = await fetch(`${server.url}/login/code`, { headers: { cookie }, redirect: 'manual' });
  if (page.status !== 200) page = await fetch(`${server.url}/login`, { headers: { cookie } });
  const csrf = hidden(await page.text(), '_csrf');
  return postForm(server, '/login/code', { _csrf: csrf, code: value }, cookie);
}
/** A logged-in session cookie, through both steps. */
async function logInFully(): Promise<string> {
  const { cookie } = await password();
  const r = await sendCode(cookie, appCode(key, 1));
  expect(r.status).toBe(303);
  const [k, v] = sessionOf(r)!;
  return `${k}=${v}`;
}

describe('set-up', () => {
  it('shows a QR code and the key; a wrong code changes nothing; the right one turns it on and shows recovery codes once', async () => {
    const { r } = await password();
    expect(r.status).toBe(303);
    const [k, v] = sessionOf(r)!;
    const cookie = `${k}=${v}`;
    const profile = await getPage(server, '/profile', cookie);
    expect(profile).toContain('Off: your password alone logs you in.');
    const setup = await postForm(server, '/profile/two-factor/setup', { _csrf: hidden(profile, '_csrf') }, cookie);
    expect(setup.status).toBe(200);
    const page = await setup.text();
    expect(page).toMatch(/<div class="qr" id="two-factor-qr"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    key = fromBase32(/<code id="two-factor-key">([A-Z2-7 ]+)<\/code>/.exec(page)![1]!);
    expect(key).toHaveLength(20);

    const wrong = await postForm(server, '/profile/two-factor/enable', { _csrf: hidden(page, '_csrf'), code: appCode(key, 5) }, cookie);
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('That code is not the one the app shows now');
    expect((await db.pool.query('SELECT totp_secret FROM ui_user WHERE email = $1', [EMAIL])).rows[0].totp_secret).toBeNull();

    const on = await postForm(server, '/profile/two-factor/enable', { _csrf: hidden(page, '_csrf'), code: appCode(key) }, cookie);
    expect(on.status).toBe(200);
    expect(smtp.mails.map((m) => [m.to, subjectOf(m.raw)])).toEqual([[[EMAIL], 'Two-factor log-in is on for your crash-cache account']]);
    recovery = [...(await on.text()).matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((m) => m[1]!);
    expect(recovery).toHaveLength(10);
    expect(await getPage(server, '/profile', cookie)).toMatch(/On since \d{4}-\d\d-\d\d \d\d:\d\d UTC: .* 10 of 10 recovery codes left\./);
    // once on, a session alone cannot put another secret in its place (turning it off asks for the password)
    const again = await postForm(server, '/profile/two-factor/setup', { _csrf: hidden(profile, '_csrf') }, cookie);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('two-factor log-in is on already');
    await db.pool.query('UPDATE ui_user SET totp_pending = $2 WHERE email = $1', [EMAIL, Buffer.alloc(20, 7)]);
    expect((await postForm(server, '/profile/two-factor/enable', { _csrf: hidden(profile, '_csrf'), code: appCode(Buffer.alloc(20, 7)) }, cookie)).status).toBe(400);
    expect((await db.pool.query('SELECT totp_secret FROM ui_user WHERE email = $1', [EMAIL])).rows[0].totp_secret).toEqual(key);
    const members = (await (await fetch(`${server.url}/api/0/organizations/crash-cache/members/`, { headers: { authorization: `Bearer ${apiToken}` } })).json()) as { email: string; user: { has2fa: boolean } }[];
    expect(members.find((m) => m.email === EMAIL)!.user.has2fa).toBe(true);
  });
});

describe('logging in', () => {
  it('the password alone opens no session: the code does, once', async () => {
    const { r, cookie } = await password();
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login/code');
    expect(sessionOf(r)).toBeUndefined();
    // not logged in yet
    expect((await fetch(`${server.url}/projects`, { headers: { cookie }, redirect: 'manual' })).headers.get('location')).toMatch(/^\/login/);
    const wrong = await sendCode(cookie, appCode(key, 7));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Wrong code.');
    // the step after the set-up's code (a code at or before the last one used is spent; offsets of
    // 0 and +1 stay within the window even when a step boundary passes before the server checks)
    const used = appCode(key, 1);
    const ok = await sendCode(cookie, used);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/projects');
    const [k, v] = sessionOf(ok)!;
    expect((await fetch(`${server.url}/projects`, { headers: { cookie: `${k}=${v}` }, redirect: 'manual' })).status).toBe(200);
    // the same code again, in a new log-in: spent
    const again = await password();
    expect((await sendCode(again.cookie, used)).status).toBe(401);
    // the cookie of a finished log-in opens nothing
    expect((await sendCode(cookie, appCode(key, 1))).status).toBe(401);
  });

  it('a recovery code logs in once, in place of a code', async () => {
    const { cookie } = await password();
    const r = await sendCode(cookie, recovery[0]!.toUpperCase().replace('-', ' '));
    expect(r.status).toBe(303);
    expect(server.logs.some((l) => l.includes('login with a recovery code'))).toBe(true);
    const again = await password();
    expect((await sendCode(again.cookie, recovery[0]!)).status).toBe(401);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM recovery_code WHERE used_at IS NULL')).rows[0].n).toBe(9);
  });

  it('wrong codes count as failed log-ins of the account: refused at the limit, and the log-in ends after its tries', async () => {
    await db.pool.query('DELETE FROM login_throttle');
    const { cookie } = await password();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await sendCode(cookie, appCode(key, 9))).status);
    // the password attempt and four wrong codes make five failures of this account from this address
    expect(statuses).toEqual([401, 401, 401, 401, 429]);

    await db.pool.query('DELETE FROM login_throttle');
    await db.pool.query('DELETE FROM login_second_factor'); // earlier tests' unfinished log-ins
    const next = await password();
    const waiting = async () => (await db.pool.query('SELECT count(*)::int AS n FROM login_second_factor')).rows[0].n;
    await db.pool.query('UPDATE login_second_factor SET attempts = 4');
    expect(await waiting()).toBe(1);
    const last = await sendCode(next.cookie, appCode(key, 9));
    expect(last.status).toBe(401);
    expect(await last.text()).toContain('enter your password again');
    expect((await sendCode(next.cookie, appCode(key, 1))).status).toBe(401);
    expect(await waiting()).toBe(0);
    await db.pool.query('DELETE FROM login_throttle');
  });

  it('a password reset still asks for the code', async () => {
    await db.pool.query('UPDATE ui_user SET totp_last_step = NULL'); // this step's code was used above: a person would wait for the next
    const f = await loginForm(server);
    await postForm(server, '/password/forgot', { _csrf: f.csrf, email: EMAIL }, f.cookie);
    const mail = await until('reset e-mail', async () => smtp.mails.find((m) => subjectOf(m.raw) === 'Reset your crash-cache password'), (m) => m !== undefined, 10_000);
    const link = /\/password\/reset\/[A-Za-z0-9_-]{43}/.exec(decodeQp(mail!.raw))![0];
    const form = await fetch(`${server.url}${link}`);
    const cookie = Object.entries(cookiesOf(form)).map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await postForm(server, link, { _csrf: hidden(await form.text(), '_csrf'), password: PASSWORD, password2: PASSWORD }, cookie);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/login/code');
    expect(sessionOf(r)).toBeUndefined();
    const second = [cookie, ...Object.entries(cookiesOf(r)).map(([k, v]) => `${k}=${v}`)].join('; ');
    expect((await sendCode(second, appCode(key, 1))).status).toBe(303);
  });
});

describe('turning it off', () => {
  it('needs the password; then the password alone logs in', async () => {
    await db.pool.query('DELETE FROM login_throttle');
    await db.pool.query('UPDATE ui_user SET totp_last_step = NULL');
    const cookie = await logInFully();
    const profile = await getPage(server, '/profile', cookie);
    const bad = await postForm(server, '/profile/two-factor/off', { _csrf: hidden(profile, '_csrf'), password: 'not it' }, cookie);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('two-factor log-in stays on');
    smtp.mails.length = 0;
    const off = await postForm(server, '/profile/two-factor/off', { _csrf: hidden(profile, '_csrf'), password: PASSWORD }, cookie);
    expect(off.status).toBe(303);
    expect(smtp.mails.map((m) => subjectOf(m.raw))).toEqual(['Two-factor log-in is off for your crash-cache account']);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM recovery_code')).rows[0].n).toBe(0);
    const { r } = await password();
    expect(sessionOf(r)).toBeDefined();
  });

  it('crash-cache-cli user two-factor-off, for a lost phone', async () => {
    await db.pool.query('UPDATE ui_user SET totp_secret = $2, totp_enabled_at = now() WHERE email = $1', [EMAIL, key]);
    expect((await password()).r.headers.get('location')).toBe('/login/code');
    expect(await cli(['user', 'two-factor-off', '--email', EMAIL], env)).toContain(`Two-factor log-in of ${EMAIL} is off`);
    expect(sessionOf((await password()).r)).toBeDefined();
    expect(await cli(['user', 'two-factor-off', '--email', EMAIL], env)).toContain('had no two-factor log-in');
  });
});

describe('an administrator, for a lost phone', () => {
  it('turns a member\'s two-factor log-in off on the Members page; only owners an admin\'s; the user is told', async () => {
    await db.pool.query('DELETE FROM login_throttle');
    const mia = await createUser(db.pool, 'mia@example.com', PASSWORD, 'member');
    const ada = await createUser(db.pool, 'ada@example.com', PASSWORD, 'admin');
    await db.pool.query("UPDATE ui_user SET totp_secret = $1, totp_enabled_at = now() WHERE email IN ('mia@example.com', 'ada@example.com')", [Buffer.alloc(20, 3)]);
    await db.pool.query('UPDATE ui_user SET totp_secret = NULL WHERE email = $1', [EMAIL]);
    const { r } = await password();
    const [k, v] = sessionOf(r)!;
    const owner = `${k}=${v}`;
    // ada logs in with her code
    const f = await loginForm(server);
    const step = await postForm(server, '/login', { _csrf: f.csrf, email: 'ada@example.com', password: PASSWORD, next: '/members' }, f.cookie);
    const adaWaiting = [f.cookie, ...Object.entries(cookiesOf(step)).map(([n, x]) => `${n}=${x}`)].join('; ');
    const done = await sendCode(adaWaiting, appCode(Buffer.alloc(20, 3), 1));
    expect(done.status).toBe(303);
    const admin = sessionOf(done)!.join('=');

    const members = await getPage(server, '/members', admin);
    expect(members).toContain(`action="/members/${mia.id}/two-factor-off"`);
    const csrf = hidden(members, '_csrf');
    // an admin's two-factor is the owners' to turn off
    expect((await postForm(server, `/members/${ada.id}/two-factor-off`, { _csrf: csrf }, admin)).status).toBe(403);
    smtp.mails.length = 0;
    expect((await postForm(server, `/members/${mia.id}/two-factor-off`, { _csrf: csrf }, admin)).status).toBe(303);
    expect(smtp.mails.map((m) => [m.to, subjectOf(m.raw)])).toEqual([[['mia@example.com'], 'Two-factor log-in is off for your crash-cache account']]);
    const ownerCsrf = hidden(await getPage(server, '/members', owner), '_csrf');
    expect((await postForm(server, `/members/${ada.id}/two-factor-off`, { _csrf: ownerCsrf }, owner)).status).toBe(303);
    expect((await db.pool.query("SELECT email FROM ui_user WHERE totp_secret IS NOT NULL")).rows).toEqual([]);
    expect(await getPage(server, '/members', owner)).not.toContain('two-factor-off"');
  });
});

describe('REQUIRE_TWO_FACTOR', () => {
  it('sends a password user without it to set it up before anything else; single-sign-on users and tokens are not asked', async () => {
    const strict = await startServer({ ...env, REQUIRE_TWO_FACTOR: 'true' });
    try {
      await createUser(db.pool, 'zoe@example.com', PASSWORD, 'member');
      const form = await fetch(`${strict.url}/login`);
      const loginCookie = Object.entries(cookiesOf(form)).map(([k, v]) => `${k}=${v}`).join('; ');
      const r = await postForm(strict, '/login', { _csrf: hidden(await form.text(), '_csrf'), email: 'zoe@example.com', password: PASSWORD, next: '/projects' }, loginCookie);
      const cookie = sessionOf(r)!.join('=');
      const projects = await fetch(`${strict.url}/projects`, { headers: { cookie }, redirect: 'manual' });
      expect(projects.status).toBe(303);
      expect(projects.headers.get('location')).toBe('/profile');
      const profile = await getPage(strict, '/profile', cookie);
      expect(profile).toContain('id="two-factor-required"');
      const csrf = hidden(profile, '_csrf');
      expect((await postForm(strict, '/profile/notifications', { _csrf: csrf, which: 'issues', on: '0' }, cookie)).status).toBe(403);
      const setup = await postForm(strict, '/profile/two-factor/setup', { _csrf: csrf }, cookie);
      const secret = fromBase32(/<code id="two-factor-key">([A-Z2-7 ]+)<\/code>/.exec(await setup.text())![1]!);
      expect((await postForm(strict, '/profile/two-factor/enable', { _csrf: csrf, code: appCode(secret) }, cookie)).status).toBe(200);
      expect((await fetch(`${strict.url}/projects`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
      // and it stays on
      const off = await postForm(strict, '/profile/two-factor/off', { _csrf: csrf, password: PASSWORD }, cookie);
      expect(off.status).toBe(403);
      expect(await off.text()).toContain('requires two-factor log-in');
      // a single-sign-on user (no password here) is not asked; nor is a token
      const sso = await db.pool.query<{ id: number }>("INSERT INTO ui_user (email, role, all_projects) VALUES ('sso2@example.com', 'member', true) RETURNING id::int");
      const { token } = await createSession(db.pool, sso.rows[0]!.id);
      expect((await fetch(`${strict.url}/projects`, { headers: { cookie: `cc_session=${token}` }, redirect: 'manual' })).status).toBe(200);
      expect((await fetch(`${strict.url}/api/0/projects/`, { headers: { authorization: `Bearer ${apiToken}` } })).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });
});

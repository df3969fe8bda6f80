import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { startSmtp, decodeQp, subjectOf, type SmtpReceiver } from '../alerts/smtp-receiver.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { createToken } from '../../src/api/tokens.js';
import { addRule } from '../../src/alerts/rules.js';
import type { Role } from '../../src/auth/scopes.js';
import * as web from './web.js';
import { cookiesOf, hidden } from './web.js';

// Members, invites, tokens and the profile in the web UI, over real HTTP against the built server on real
// PostgreSQL, with a real SMTP server: invite → e-mail → accept → log in; expired, used and unknown links;
// the role rules as 403 pages that change nothing; tokens capped by role; password change; the e-mail switch.

let db: TestDatabase;
let server: RunningServer;
let smtp: SmtpReceiver;
let shop: number;
let blog: number;
const PASSWORD = 'a long enough password';
const cookies: Record<string, string> = {};
const ids: Record<string, number> = {};

const get = (path: string, who: string) => fetch(`${server.url}${path}`, { headers: { cookie: cookies[who]! }, redirect: 'manual' });
const page = (path: string, who: string) => web.getPage(server, path, cookies[who]!);
/** POSTs a form from a logged-in page, with that page's CSRF field. */
async function post(who: string, path: string, fields: Record<string, string | string[]>): Promise<Response> {
  const csrf = hidden(await page('/profile', who), '_csrf');
  const body = new URLSearchParams({ _csrf: csrf });
  for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) body.append(k, x);
  return fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies[who]! }, body: body.toString() });
}
async function user(email: string, role: Role): Promise<void> {
  ids[email] = Number((await createUser(db.pool, email, PASSWORD, role)).id);
  cookies[email] = await web.logIn(server, email, PASSWORD);
}
const roleOf = async (email: string) => (await db.pool.query('SELECT role FROM ui_user WHERE email = $1', [email])).rows[0]?.role as Role | undefined;
const userCount = async () => (await db.pool.query('SELECT count(*)::int AS n FROM ui_user')).rows[0].n as number;
/** The invite link on the page answering the invite form, on this server instead of PUBLIC_URL. */
const linkOn = (html: string) => /<code id="invite-link"[^>]*>http:\/\/cc\.example(\/invite\/[A-Za-z0-9_-]{43})<\/code>/.exec(html)?.[1];

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  shop = Number((await createProject(db.pool, { name: 'shop' })).project.id);
  blog = Number((await createProject(db.pool, { name: 'blog' })).project.id);
  server = await startServer({ DATABASE_URL: db.url, PUBLIC_URL: 'http://cc.example', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@cc.example', ALERT_TIMEOUT_MS: '5000', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' });
  await user('owner@example.com', 'owner');
  await user('admin@example.com', 'admin');
}, 60_000);
beforeEach(() => {
  smtp.mails.length = 0;
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  await db?.drop();
});

describe('invites', () => {
  let link = '';

  it('an admin invites a member limited to one project: the link is shown once and e-mailed', async () => {
    const r = await post('admin@example.com', '/members/invite', { email: 'new@example.com', role: 'member', access: 'some', project: String(shop) });
    expect(r.status).toBe(200);
    const html = await r.text();
    link = linkOn(html)!;
    expect(link).toBeDefined();
    expect(html).toContain(`It was e-mailed to new@example.com.`);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(['new@example.com']);
    expect(subjectOf(smtp.mails[0]!.raw)).toBe('admin@example.com invited you to crash-cache');
    expect(decodeQp(smtp.mails[0]!.raw)).toContain(`http://cc.example${link}`);
    // stored as a hash only; the Members page lists the invite but never the link again
    const token = link.split('/').pop()!;
    const stored = await db.pool.query('SELECT * FROM member_invite');
    expect(JSON.stringify(stored.rows)).not.toContain(token);
    const members = await page('/members', 'owner@example.com');
    expect(members).toContain('new@example.com');
    expect(members).not.toContain(token);
  });

  it('GET shows the invite\'s e-mail; a bad password or a missing CSRF token creates nothing', async () => {
    const r = await fetch(server.url + link);
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toMatch(/<input id="email" type="email" value="new@example.com"[^>]* readonly>/);
    const [name, value] = Object.entries(cookiesOf(r)).find(([k]) => k.endsWith('cc_login_csrf'))!;
    const form = { csrf: hidden(html, '_csrf'), cookie: `${name}=${value}` };
    const before = await userCount();
    expect((await web.postForm(server, link, { password: PASSWORD, password2: PASSWORD }, form.cookie)).status).toBe(403);
    const short = await web.postForm(server, link, { _csrf: form.csrf, password: 'short', password2: 'short' }, form.cookie);
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('at least 8 characters');
    expect((await web.postForm(server, link, { _csrf: form.csrf, password: PASSWORD, password2: `${PASSWORD}!` }, form.cookie)).status).toBe(400);
    expect(await userCount()).toBe(before);
  });

  it('accepting creates the user with the invite\'s role, id and projects and logs them in; they can log in later', async () => {
    const f = await fetch(server.url + link);
    const html = await f.text();
    const [name, value] = Object.entries(cookiesOf(f)).find(([k]) => k.endsWith('cc_login_csrf'))!;
    const r = await web.postForm(server, link, { _csrf: hidden(html, '_csrf'), password: 'new member password', password2: 'new member password' }, `${name}=${value}`);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/projects');
    const [sn, sv] = Object.entries(cookiesOf(r)).find(([k]) => k.endsWith('cc_session'))!;
    cookies['new@example.com'] = `${sn}=${sv}`;
    const { rows } = await db.pool.query(`SELECT u.id::int, u.role, u.all_projects, array(SELECT project_id::int FROM project_member m WHERE m.user_id = u.id) AS projects, i.id::int AS invite
      FROM ui_user u JOIN member_invite i ON lower(i.email) = lower(u.email) WHERE u.email = 'new@example.com'`);
    expect(rows).toEqual([{ id: rows[0].invite, role: 'member', all_projects: false, projects: [shop], invite: rows[0].invite }]);
    expect(await page('/profile', 'new@example.com')).toContain('<td id="my-role">member</td>');
    await web.logIn(server, 'new@example.com', 'new member password');
  });

  it('a used link is an error page, and a second use creates nothing', async () => {
    const r = await fetch(server.url + link);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await r.text()).toContain('This invite link has already been used.');
    const f = await web.loginForm(server);
    const before = await userCount();
    const again = await web.postForm(server, link, { _csrf: f.csrf, password: PASSWORD, password2: PASSWORD }, f.cookie);
    expect(again.status).toBe(400);
    expect(await userCount()).toBe(before);
  });

  it('an expired link and an unknown link are error pages; nothing is created', async () => {
    const r = await post('owner@example.com', '/members/invite', { email: 'late@example.com', role: 'viewer', access: 'all' });
    const late = linkOn(await r.text())!;
    await db.pool.query("UPDATE member_invite SET created_at = now() - interval '4 days', expires_at = now() - interval '1 hour' WHERE email = 'late@example.com'");
    const g = await fetch(server.url + late);
    expect(g.status).toBe(400);
    expect(await g.text()).toMatch(/This invite link expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const f = await web.loginForm(server);
    const before = await userCount();
    expect((await web.postForm(server, late, { _csrf: f.csrf, password: PASSWORD, password2: PASSWORD }, f.cookie)).status).toBe(400);
    expect(await userCount()).toBe(before);
    expect(await page('/members', 'owner@example.com')).toMatch(/late@example\.com[\s\S]*expired/);

    const unknown = await fetch(`${server.url}/invite/${'A'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('This invite link is not valid');
    expect((await fetch(`${server.url}/invite/short`)).status).toBe(404);
  });
});

describe('role rules on the Members page', () => {
  beforeAll(async () => {
    await user('member@example.com', 'member');
    await user('viewer@example.com', 'viewer');
  });

  const refused = async (who: string, path: string, fields: Record<string, string>, why: RegExp) => {
    const r = await post(who, path, fields);
    expect(r.status, `${who} ${path}`).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await r.text()).toMatch(why);
  };

  it('an admin cannot invite an owner, make an admin, touch an owner, or remove one', async () => {
    await refused('admin@example.com', '/members/invite', { email: 'boss@example.com', role: 'owner' }, /only owners can grant the owner role/);
    await refused('admin@example.com', `/members/${ids['member@example.com']}/role`, { role: 'admin' }, /only owners can grant the admin role/);
    await refused('admin@example.com', `/members/${ids['owner@example.com']}/role`, { role: 'viewer' }, /only owners can change the role of an owner/);
    await refused('admin@example.com', `/members/${ids['owner@example.com']}/remove`, {}, /only owners can remove an owner/);
    expect(await roleOf('owner@example.com')).toBe('owner');
    expect(await roleOf('member@example.com')).toBe('member');
    expect((await db.pool.query("SELECT count(*)::int AS n FROM member_invite WHERE email = 'boss@example.com'")).rows[0].n).toBe(0);
  });

  it('nobody raises their own role; the last owner stays; members and viewers change nothing', async () => {
    await refused('admin@example.com', `/members/${ids['admin@example.com']}/role`, { role: 'owner' }, /nobody can raise their own role/);
    await refused('owner@example.com', `/members/${ids['owner@example.com']}/role`, { role: 'admin' }, /the last owner cannot be removed or demoted/);
    await refused('owner@example.com', `/members/${ids['owner@example.com']}/remove`, {}, /the last owner cannot be removed or demoted/);
    await refused('member@example.com', `/members/${ids['viewer@example.com']}/role`, { role: 'member' }, /lacks the member:write scope/);
    await refused('viewer@example.com', '/members/invite', { email: 'x@example.com', role: 'viewer' }, /lacks the member:write scope/);
    expect(await roleOf('admin@example.com')).toBe('admin');
    expect(await roleOf('owner@example.com')).toBe('owner');
    expect(await roleOf('viewer@example.com')).toBe('viewer');
    // a member sees the list, without the forms
    const list = await page('/members', 'member@example.com');
    expect(list).toContain('viewer@example.com');
    expect(list).not.toContain('action="/members/invite"');
  });

  it('an admin changes a member\'s role and projects; an owner makes an admin', async () => {
    expect((await post('admin@example.com', `/members/${ids['member@example.com']}/role`, { role: 'viewer' })).status).toBe(303);
    expect(await roleOf('member@example.com')).toBe('viewer');
    expect((await post('admin@example.com', `/members/${ids['member@example.com']}/projects`, { access: 'some', project: [String(blog)] })).status).toBe(303);
    expect((await db.pool.query('SELECT project_id::int FROM project_member WHERE user_id = $1', [ids['member@example.com']])).rows).toEqual([{ project_id: blog }]);
    // an unknown project is a 400 that changes nothing
    const unknown = await post('admin@example.com', `/members/${ids['member@example.com']}/projects`, { access: 'some', project: ['999999'] });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('no project');
    expect((await db.pool.query('SELECT project_id::int FROM project_member WHERE user_id = $1', [ids['member@example.com']])).rows).toEqual([{ project_id: blog }]);
    // new@example.com, limited to shop, is not told the other project's name
    const seen = await page('/members', 'new@example.com');
    expect(seen).toMatch(/data-email="member@example\.com"[\s\S]*?<td class="projects">1 other<\/td>/);
    expect(seen).not.toContain('blog');
    expect((await post('owner@example.com', `/members/${ids['member@example.com']}/role`, { role: 'admin' })).status).toBe(303);
    expect(await roleOf('member@example.com')).toBe('admin');
    expect((await post('owner@example.com', `/members/${ids['member@example.com']}/role`, { role: 'member' })).status).toBe(303);
  });
});

describe('tokens page', () => {
  it('a viewer cannot make a token with event:write (400, nothing made); a read token is shown once and belongs to them', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM api_token')).rows[0].n;
    const r = await post('viewer@example.com', '/tokens', { name: 'ci', scope: ['event:read', 'event:write'] });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/your role \(viewer\) does not have event:write/);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM api_token')).rows[0].n).toBe(before);

    const ok = await post('viewer@example.com', '/tokens', { name: 'reader', scope: ['project:read', 'event:read'] });
    expect(ok.status).toBe(200);
    const token = /<code id="new-token"[^>]*>([0-9a-f]{64})<\/code>/.exec(await ok.text())![1]!;
    const { rows } = await db.pool.query("SELECT user_id::int, scopes FROM api_token WHERE name = 'reader'");
    expect(rows).toEqual([{ user_id: ids['viewer@example.com'], scopes: ['project:read', 'event:read'] }]);
    const api = await fetch(`${server.url}/api/0/projects/`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    const list = await page('/tokens', 'viewer@example.com');
    expect(list).toContain(`${token.slice(0, 8)}…`);
    expect(list).not.toContain(token);
  });

  it('a user sees and revokes only their own tokens; owners and admins see and revoke every one', async () => {
    const { row: hostToken } = await createToken(db.pool, 'host');
    const { row: viewerToken } = await createToken(db.pool, 'viewer-2', { scopes: ['event:read'], userId: ids['viewer@example.com'] });
    const own = await page('/tokens', 'new@example.com');
    expect(own).not.toContain(hostToken.prefix);
    expect(own).not.toContain(viewerToken.prefix);
    const r = await post('new@example.com', `/tokens/${viewerToken.id}/revoke`, {});
    expect(r.status).toBe(403);
    expect((await db.pool.query('SELECT revoked_at FROM api_token WHERE id = $1', [viewerToken.id])).rows[0].revoked_at).toBeNull();
    const all = await page('/tokens', 'admin@example.com');
    expect(all).toContain(hostToken.prefix);
    expect(all).toContain(viewerToken.prefix);
    expect((await post('admin@example.com', `/tokens/${viewerToken.id}/revoke`, {})).status).toBe(303);
    expect((await post('viewer@example.com', `/tokens/${viewerToken.id}/revoke`, {})).status).toBe(403);
    expect((await db.pool.query('SELECT revoked_at FROM api_token WHERE id = $1', [viewerToken.id])).rows[0].revoked_at).not.toBeNull();
  });
});

describe('profile', () => {
  it('changing the password needs the current one, ends the other sessions and keeps this one', async () => {
    const other = await web.logIn(server, 'viewer@example.com', PASSWORD);
    const wrong = await post('viewer@example.com', '/profile/password', { current: 'not it at all', password: 'a new password', password2: 'a new password' });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain('The current password is wrong; nothing changed.');
    expect(smtp.mails).toEqual([]);
    const r = await post('viewer@example.com', '/profile/password', { current: PASSWORD, password: 'a new password', password2: 'a new password' });
    expect(r.status).toBe(303);
    // the account's owner hears of it, whoever changed it (sent before the answer)
    expect(smtp.mails.map((m) => [m.to, subjectOf(m.raw)])).toEqual([[['viewer@example.com'], 'Your crash-cache password was changed']]);
    expect(decodeQp(smtp.mails[0]!.raw)).toMatch(/From: 127\.0\.0\.1\r?\n/);
    expect((await get('/profile', 'viewer@example.com')).status).toBe(200);
    const ended = await fetch(`${server.url}/profile`, { headers: { cookie: other }, redirect: 'manual' });
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toMatch(/^\/login/);
    await web.logIn(server, 'viewer@example.com', 'a new password');
    const f = await web.loginForm(server);
    expect((await web.postForm(server, '/login', { _csrf: f.csrf, email: 'viewer@example.com', password: PASSWORD }, f.cookie)).status).toBe(401);
  });

  it('the e-mail switch decides whether alert e-mail to project members reaches the user', async () => {
    const rule = await addRule(db.pool, shop, { name: 'members', channel: 'email', emailMembers: true, kinds: ['new'] });
    const { token } = await createToken(db.pool, 'host alerts');
    const testSend = async () => {
      smtp.mails.length = 0;
      const r = await fetch(`${server.url}/api/0/projects/crash-cache/shop/rules/${rule.id}/test/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ ok: true });
      return smtp.mails.flatMap((m) => m.to).sort();
    };
    // new@example.com is limited to shop, member@example.com to blog: only the first gets shop's alerts
    expect(await testSend()).toEqual(['admin@example.com', 'new@example.com', 'owner@example.com', 'viewer@example.com']);
    expect((await post('new@example.com', '/profile/notifications', { on: '0' })).status).toBe(303);
    expect(await page('/profile', 'new@example.com')).toContain('Off: you get no alert e-mail');
    expect(await testSend()).toEqual(['admin@example.com', 'owner@example.com', 'viewer@example.com']);
    expect((await post('new@example.com', '/profile/notifications', { on: '1' })).status).toBe(303);
    expect(await testSend()).toEqual(['admin@example.com', 'new@example.com', 'owner@example.com', 'viewer@example.com']);
  });
});

describe('removing a member', () => {
  it('ends their sessions and tokens', async () => {
    const { row } = await createToken(db.pool, 'theirs', { scopes: ['event:read'], userId: ids['member@example.com'] });
    expect((await post('admin@example.com', `/members/${ids['member@example.com']}/remove`, {})).status).toBe(303);
    expect((await get('/profile', 'member@example.com')).status).toBe(303);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM api_token WHERE id = $1', [row.id])).rows[0].n).toBe(0);
    expect(await roleOf('member@example.com')).toBeUndefined();
  });
});

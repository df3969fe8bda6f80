import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROLE_SCOPES, type Role } from '../../src/auth/scopes.js';
import { createToken } from '../../src/api/tokens.js';
import { createProject } from '../../src/storage/projects.js';
import { createUser } from '../../src/ui/users.js';
import { loadConfig } from '../../src/config/index.js';
import { addComment, deleteComment } from '../../src/collab/comments.js';
import { LEASE_MARGIN_MS } from '../../src/alerts/deliveries.js';
import { claimNotices } from '../../src/notices/deliveries.js';
import { deliverNotice } from '../../src/notices/send.js';
import { noticesOn } from '../../src/notices/queue.js';
import { sessionPrincipal } from '../../src/auth/principal.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { NO_RATE_LIMITS } from '../helpers/app.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { until } from '../helpers/poll.js';
import { decodeQp, startSmtp, subjectOf, type Mail, type SmtpReceiver } from '../alerts/smtp-receiver.js';
import { getPage, hidden, logIn } from '../ui/web.js';

// E-mail about issues, end to end: real events through ingest and the digest, assignments and
// comments over the API and the web UI by users of each role, the running server's sender, and a
// real SMTP server. Who is told (the assignee; an issue's assignee, commenters and bookmarkers on a
// comment; never the one who acted, someone who turned it off, or someone who cannot see the
// project), what the e-mail says (escaped), and every row's outcome.

let db: TestDatabase;
let server: RunningServer;
let smtp: SmtpReceiver;
let shop: { id: number; key: string };
let hostToken: string;
const users: Record<string, { id: number; email: string; token: string }> = {};
const PASSWORD = 'notice-password';
const METRICS = 'notice-metrics-token-0123456789';

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  const a = await createProject(db.pool, { name: 'shop' });
  const b = await createProject(db.pool, { name: 'blog' });
  shop = { id: a.project.id, key: a.key.public_key };
  const make = async (name: string, role: Role, projects?: number[]) => {
    const u = await createUser(db.pool, `${name}@example.com`, PASSWORD, role);
    const { token } = await createToken(db.pool, name, { scopes: ROLE_SCOPES[role], userId: u.id });
    users[name] = { id: Number(u.id), email: u.email, token };
    if (projects) {
      await db.pool.query('UPDATE ui_user SET all_projects = false WHERE id = $1', [u.id]);
      for (const p of projects) await db.pool.query('INSERT INTO project_member (project_id, user_id) VALUES ($1, $2)', [p, u.id]);
    }
  };
  await make('owner', 'owner');
  await make('lead', 'admin');
  await make('dev', 'member', [shop.id]);
  await make('quiet', 'member', [shop.id]);
  await make('blogger', 'member', [b.project.id]);
  await db.pool.query("UPDATE ui_user SET email_workflow = false WHERE email = 'quiet@example.com'");
  hostToken = (await createToken(db.pool, 'host')).token;
  server = await startServer({ DATABASE_URL: db.url, ...NO_RATE_LIMITS, PUBLIC_URL: 'http://cc.example', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@cc.example', ALERT_RETRY_SECS: '1', ALERT_TIMEOUT_MS: '5000', METRICS_TOKEN: METRICS });
}, 60_000);
beforeEach(() => {
  smtp.mails.length = 0;
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  await db?.drop();
});

function api(who: string, path: string, init: RequestInit = {}): Promise<Response> {
  const token = who === 'host' ? hostToken : users[who]!.token;
  return fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}
async function ok(r: Promise<Response>, status = 200): Promise<void> {
  const res = await r;
  expect(res.status, await res.text()).toBe(status);
}
const put = (who: string, issue: string, body: unknown) => ok(api(who, `/api/0/issues/${issue}/`, { method: 'PUT', body: JSON.stringify(body) }));
const comment = (who: string, issue: string, text: string) => ok(api(who, `/api/0/issues/${issue}/comments/`, { method: 'POST', body: JSON.stringify({ text }) }), 201);

/** A new issue from a real event through ingest and the digest; its id and short id. */
async function newIssue(message: string): Promise<{ id: string; shortId: string }> {
  const eventId = randomUUID().replaceAll('-', '');
  const r = await fetch(`${server.url}/api/${shop.id}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_key=${shop.key}, sentry_version=7` },
    body: JSON.stringify({ event_id: eventId, message, level: 'error', platform: 'python', fingerprint: [message] }),
  });
  expect(r.status).toBe(200);
  const ev = await until(`event ${eventId}`, () => api('owner', `/api/0/projects/crash-cache/shop/events/${eventId}/`), (x) => x.status === 200);
  const { groupID } = (await ev.json()) as { groupID: string };
  const issue = (await (await api('owner', `/api/0/issues/${groupID}/`)).json()) as { id: string; shortId: string };
  return { id: issue.id, shortId: issue.shortId };
}

type Row = { user: string; reason: string; status: string; last_error: string | null; payload: { to: string[]; subject: string } | null };
/** The issue's e-mail rows once none is pending, oldest first. */
async function settled(issue: string, count: number): Promise<Row[]> {
  return until(`${count} e-mail(s) of issue ${issue} sent or given up`, async () => (await db.pool.query<Row>(
    `SELECT u.email AS user, o.reason, o.status, o.last_error, o.payload FROM notice_outbox o JOIN issue_activity a ON a.id = o.activity_id
       JOIN ui_user u ON u.id = o.user_id WHERE a.issue_id = $1 ORDER BY o.id`, [issue])).rows,
  (rows) => rows.length >= count && rows.every((r) => r.status !== 'pending'));
}
const mailTo = (email: string): Mail[] => smtp.mails.filter((m) => m.to.includes(email));
const textOf = (m: Mail) => decodeQp(m.raw);

describe('assignment', () => {
  it('e-mails the new assignee, with who assigned it, the issue and its link', async () => {
    const issue = await newIssue('Checkout <failed> & "retried"');
    await put('owner', issue.id, { assignedTo: 'dev@example.com' });
    const rows = await settled(issue.id, 1);
    expect(rows).toEqual([{ user: 'dev@example.com', reason: 'assigned', status: 'delivered', last_error: null, payload: { to: ['dev@example.com'], subject: `[shop] ${issue.shortId} assigned to you: Checkout <failed> & "retried"` } }]);
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.from).toBe('crash@cc.example');
    expect(mail.to).toEqual(['dev@example.com']);
    expect(subjectOf(mail.raw)).toBe(`[shop] ${issue.shortId} assigned to you: Checkout <failed> & "retried"`);
    const body = textOf(mail);
    expect(body).toContain(`owner@example.com assigned ${issue.shortId} to you.`);
    expect(body).toContain(`Open: http://cc.example/issues/${issue.id}`);
    expect(body).toContain('because the issue was assigned to you');
    expect(body).toContain('http://cc.example/profile');
    // unsubscribing from the issue would not stop an assignment: not offered
    expect(body).not.toContain('Unsubscribe from this issue');
    // the HTML part escapes the title; the raw one never appears in it
    expect(body).toContain('Checkout &lt;failed&gt; &amp; &quot;retried&quot;');
    expect(body).not.toMatch(/<td>Checkout <failed>/);
    expect(mail.raw).toMatch(/^X-Crash-Cache-Delivery: notice-\d+\r?$/m);
  });

  it('tells nobody when users assign themselves, and names a host token as the actor', async () => {
    const issue = await newIssue('self-assigned');
    await put('dev', issue.id, { assignedTo: 'dev@example.com' });
    await put('host', issue.id, { assignedTo: 'lead@example.com' });
    const rows = await settled(issue.id, 1);
    expect(rows.map((r) => [r.user, r.reason, r.status])).toEqual([['lead@example.com', 'assigned', 'delivered']]);
    expect(smtp.mails.map((m) => m.to)).toEqual([['lead@example.com']]);
    expect(textOf(smtp.mails[0]!)).toContain('An API token made on the server assigned');
  });

  it('tells nobody who turned it off; a bulk assignment sends one e-mail per issue', async () => {
    const one = await newIssue('quiet one');
    const two = await newIssue('quiet two');
    await ok(api('owner', `/api/0/organizations/crash-cache/issues/?id=${one.id}&id=${two.id}`, { method: 'PUT', body: JSON.stringify({ assignedTo: 'quiet@example.com' }) }));
    await ok(api('owner', `/api/0/organizations/crash-cache/issues/?id=${one.id}&id=${two.id}`, { method: 'PUT', body: JSON.stringify({ assignedTo: 'lead@example.com' }) }));
    expect((await settled(one.id, 1)).map((r) => r.user)).toEqual(['lead@example.com']);
    expect((await settled(two.id, 1)).map((r) => r.user)).toEqual(['lead@example.com']);
    expect(mailTo('quiet@example.com')).toEqual([]);
    expect(mailTo('lead@example.com')).toHaveLength(2);
  });
});

describe('comments', () => {
  it('e-mail the assignee, earlier commenters and bookmarkers, never the author, the quiet or outsiders', async () => {
    const issue = await newIssue('discussed');
    await put('owner', issue.id, { assignedTo: 'dev@example.com' });
    await put('lead', issue.id, { isBookmarked: true });
    await put('quiet', issue.id, { isBookmarked: true });
    // blogger cannot see shop: to them the issue does not exist, and nothing is queued for them
    expect((await api('blogger', `/api/0/issues/${issue.id}/`, { method: 'PUT', body: JSON.stringify({ isBookmarked: true }) })).status).toBe(404);
    await settled(issue.id, 1);
    smtp.mails.length = 0;

    await comment('owner', issue.id, 'Is this <b>ours</b>?\nsecond line');
    let rows = await settled(issue.id, 3);
    expect(rows.slice(1).map((r) => [r.user, r.reason, r.status]).sort()).toEqual([['dev@example.com', 'assignee', 'delivered'], ['lead@example.com', 'bookmarked', 'delivered']]);
    expect(smtp.mails.map((m) => m.to[0]).sort()).toEqual(['dev@example.com', 'lead@example.com']);
    const mail = mailTo('dev@example.com')[0]!;
    expect(subjectOf(mail.raw)).toBe(`[shop] New comment on ${issue.shortId}: discussed`);
    const body = textOf(mail);
    expect(body).toContain(`owner@example.com commented on ${issue.shortId}:`);
    expect(body).toMatch(/> Is this <b>ours<\/b>\?\r?\n> second line/);
    expect(body).toContain('Is this &lt;b&gt;ours&lt;/b&gt;?');
    expect(body).toContain('because you are the issue\'s assignee');
    expect(textOf(mailTo('lead@example.com')[0]!)).toContain('because you bookmarked the issue');

    smtp.mails.length = 0;
    await comment('dev', issue.id, 'yes, mine');
    rows = await settled(issue.id, 5);
    expect(rows.slice(3).map((r) => [r.user, r.reason]).sort()).toEqual([['lead@example.com', 'bookmarked'], ['owner@example.com', 'commented']]);
    expect(smtp.mails.map((m) => m.to[0]).sort()).toEqual(['lead@example.com', 'owner@example.com']);
  });

  it('e-mail the users a comment mentions by @e-mail, once each, if they can see the project', async () => {
    const issue = await newIssue('mentioned');
    await put('owner', issue.id, { assignedTo: 'dev@example.com' });
    await settled(issue.id, 1);
    smtp.mails.length = 0;
    await comment('owner', issue.id, '@LEAD@example.com, @Dev@Example.com: look.\n(@blogger@example.com) @quiet@example.com @nobody@example.com @ @owner@example.com');
    const rows = await settled(issue.id, 3);
    expect(rows.slice(1).map((r) => [r.user, r.reason]).sort()).toEqual([['dev@example.com', 'mentioned'], ['lead@example.com', 'mentioned']]);
    expect(smtp.mails.map((m) => m.to[0]).sort()).toEqual(['dev@example.com', 'lead@example.com']);
    expect(textOf(mailTo('lead@example.com')[0]!)).toContain('because the comment mentions you');
  });

  it('unsubscribed participants hear nothing more of its comments, except a mention; subscribers hear them', async () => {
    const issue = await newIssue('followed');
    await put('owner', issue.id, { assignedTo: 'dev@example.com' });
    await settled(issue.id, 1);
    const subscribed = async (who: string) => ((await (await api(who, `/api/0/issues/${issue.id}/`)).json()) as { isSubscribed: boolean }).isSubscribed;
    expect(await subscribed('dev')).toBe(true); // the assignee takes part
    expect(await subscribed('lead')).toBe(false);
    await put('dev', issue.id, { isSubscribed: false });
    expect(await subscribed('dev')).toBe(false);
    // lead subscribes on the issue page
    const cookie = await logIn(server, 'lead@example.com', PASSWORD);
    const page = await getPage(server, `/issues/${issue.id}`, cookie);
    expect(page).toContain('<span id="subscription-state">You get no e-mail about its comments.</span>');
    const r = await fetch(`${server.url}/issues/${issue.id}/subscription`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ _csrf: hidden(page, '_csrf'), subscribed: '1' }).toString() });
    expect(r.status).toBe(303);
    expect(await subscribed('lead')).toBe(true);
    smtp.mails.length = 0;
    await comment('owner', issue.id, 'anyone?');
    expect((await settled(issue.id, 2)).slice(1).map((x) => [x.user, x.reason])).toEqual([['lead@example.com', 'subscribed']]);
    await comment('owner', issue.id, '@dev@example.com you, then');
    expect((await settled(issue.id, 4)).slice(2).map((x) => [x.user, x.reason]).sort()).toEqual([['dev@example.com', 'mentioned'], ['lead@example.com', 'subscribed']]);
    expect(textOf(mailTo('lead@example.com')[0]!)).toContain('because you subscribed to the issue. Unsubscribe from this issue on its page');
    expect((await api('host', `/api/0/issues/${issue.id}/`, { method: 'PUT', body: JSON.stringify({ isSubscribed: true }) })).status).toBe(400);
  });

  it('from the web UI too; the Profile switch turns them off', async () => {
    const issue = await newIssue('from the page');
    await put('owner', issue.id, { assignedTo: 'lead@example.com' });
    await settled(issue.id, 1);
    const cookie = await logIn(server, 'dev@example.com', PASSWORD);
    const post = async (path: string, fields: Record<string, string>) => {
      const csrf = hidden(await getPage(server, '/profile', cookie), '_csrf');
      const r = await fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ _csrf: csrf, ...fields }).toString() });
      expect(r.status, await r.text()).toBe(303);
    };
    await post(`/issues/${issue.id}/comments`, { text: 'seen it on the page' });
    expect((await settled(issue.id, 2)).map((r) => [r.user, r.reason, r.status])).toEqual([['lead@example.com', 'assigned', 'delivered'], ['lead@example.com', 'assignee', 'delivered']]);

    const lead = await logIn(server, 'lead@example.com', PASSWORD);
    const csrf = hidden(await getPage(server, '/profile', lead), '_csrf');
    expect((await getPage(server, '/profile', lead))).toContain('id="email-issues">On:');
    const r = await fetch(`${server.url}/profile/notifications`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: lead }, body: new URLSearchParams({ _csrf: csrf, which: 'issues', on: '0' }).toString() });
    expect(r.status).toBe(303);
    expect(await getPage(server, '/profile', lead)).toContain('id="email-issues">Off:');
    expect((await db.pool.query("SELECT email_workflow, email_alerts FROM ui_user WHERE email = 'lead@example.com'")).rows).toEqual([{ email_workflow: false, email_alerts: true }]);
    const bad = await fetch(`${server.url}/profile/notifications`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: lead }, body: new URLSearchParams({ _csrf: csrf, which: 'everything', on: '0' }).toString() });
    expect(bad.status).toBe(400);
    smtp.mails.length = 0;
    await post(`/issues/${issue.id}/comments`, { text: 'again' });
    await ok(api('owner', `/api/0/issues/${issue.id}/comments/`, { method: 'POST', body: JSON.stringify({ text: 'and again' }) }), 201);
    // owner's comment goes to dev (commented), not to lead (off)
    expect((await settled(issue.id, 3)).slice(2).map((r) => r.user)).toEqual(['dev@example.com']);
    expect(mailTo('lead@example.com')).toEqual([]);
    await db.pool.query("UPDATE ui_user SET email_workflow = true WHERE email = 'lead@example.com'");
  });
});

describe('outcomes', () => {
  it('a recipient the SMTP server refuses: failed at once with its reply', async () => {
    const issue = await newIssue('refused');
    smtp.reject.add('dev@example.com');
    try {
      await put('owner', issue.id, { assignedTo: 'dev@example.com' });
      const [row] = await settled(issue.id, 1);
      expect(row).toMatchObject({ user: 'dev@example.com', status: 'failed' });
      expect(row!.last_error).toMatch(/^SMTP 550 .*mailbox unavailable/);
    } finally {
      smtp.reject.delete('dev@example.com');
    }
  });

  it('the metrics count pending and failed e-mails', async () => {
    const m = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
    expect(m).toMatch(/^crash_cache_issue_emails\{status="pending"\} 0$/m);
    expect(m).toMatch(/^crash_cache_issue_emails\{status="failed"\} 1$/m);
  });

  // The rest drives the queue by hand: with the server stopped, nothing sends behind the test's back.
  it('checked again when sent: a recipient who lost the project is not sent the comment, and the row says why', async () => {
    await server.stop();
    const issue = (await db.pool.query<{ id: string; project_id: string }>("SELECT id, project_id FROM issue WHERE title = 'discussed'")).rows[0]!;
    const ref = { project_id: Number(issue.project_id), id: Number(issue.id) };
    const config = loadConfig({ PUBLIC_URL: 'http://cc.example', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@cc.example', ALERT_RETRY_SECS: '0', ALERT_TIMEOUT_MS: '5000' }, '/nonexistent');
    await addComment(db.pool, ref, users.owner!.id, 'while dev still sees shop', true);
    await db.pool.query('DELETE FROM project_member WHERE user_id = $1', [users.dev!.id]);
    const claimed = await claimNotices(db.pool, 10, config.alertTimeoutMs + LEASE_MARGIN_MS);
    expect(claimed.map((n) => [n.recipient, n.unwanted]).sort()).toEqual([['dev@example.com', 'no longer sees project shop'], ['lead@example.com', null]]);
    for (const n of claimed) await deliverNotice(db.pool, config, n);
    expect(smtp.mails.map((m) => m.to)).toEqual([['lead@example.com']]);
    const rows = await settled(issue.id, 7);
    expect(rows.find((r) => r.user === 'dev@example.com' && r.status === 'failed')?.last_error).toBe('not sent: dev@example.com no longer sees project shop');
  });

  it('a comment deleted before it is sent takes its e-mails with it; without SMTP_URL nothing is queued', async () => {
    const issue = (await db.pool.query<{ id: string; project_id: string }>("SELECT id, project_id FROM issue WHERE title = 'discussed'")).rows[0]!;
    const ref = { project_id: Number(issue.project_id), id: Number(issue.id) };
    const count = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM notice_outbox')).rows[0]!.n;
    const before = await count();
    const c = await addComment(db.pool, ref, users.lead!.id, 'oops, wrong issue', true);
    expect(await count()).toBe(before + 1); // to owner (commented); dev lost the project
    const lead = await sessionPrincipal(db.pool, { id: users.lead!.id, email: 'lead@example.com', role: 'admin', all_projects: true });
    await deleteComment(db.pool, ref, c.id, lead);
    expect(await count()).toBe(before);
    expect(await claimNotices(db.pool, 10, 60_000)).toEqual([]);

    expect(noticesOn(loadConfig({}, '/nonexistent'))).toBe(false);
    await addComment(db.pool, ref, users.lead!.id, 'no SMTP here', noticesOn(loadConfig({}, '/nonexistent')));
    expect(await count()).toBe(before);
  });
});

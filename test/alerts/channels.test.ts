import { afterAll, beforeAll, beforeEach, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { setIssueStatus } from '../../src/api/queries/issues.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createUser } from '../../src/ui/users.js';
import { addRule, setEmailOptOut, type RuleInput } from '../../src/alerts/rules.js';
import { claimAlerts, LEASE_MARGIN_MS } from '../../src/alerts/deliveries.js';
import { deliverAlert, sendTestAlert } from '../../src/alerts/sender.js';
import { digestAll, enqueue } from '../digest/archive.js';
import { startReceiver, type Receiver } from './receiver.js';
import { decodeQp, startSmtp, subjectOf, type SmtpReceiver } from './smtp-receiver.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

// Every channel against a real receiver: e-mail through a real SMTP server (new issue, regression,
// frequency; a refused recipient; a server that is not there), Slack, Discord and Teams bodies as their
// incoming webhooks document them, escaped so an event cannot mention or link in a channel; and the
// action interval under a burst of 1,000 events of one issue.

let db: TestDatabase;
let smtp: SmtpReceiver;
let hooks: Receiver;
let config: Config;
const cache = new DimCache();
let n = 0;

function event(type: string, message = 'boom', extra: Record<string, unknown> = {}) {
  n++;
  return {
    kind: 'store' as const,
    body: Buffer.from(JSON.stringify({
      event_id: n.toString(16).padStart(32, '0'), timestamp: new Date().toISOString(), platform: 'python', level: 'error', environment: 'production',
      exception: { values: [{ type, value: message, stacktrace: { frames: [{ module: 'app.views', function: 'checkout', in_app: true }] } }] },
      ...extra,
    })),
  };
}
const digest = (batchSize = 100) => digestAll(db.pool, cache, batchSize);
async function sendDue(cfg = config): Promise<number> {
  const rows = await claimAlerts(db.pool, 50, cfg.alertTimeoutMs + LEASE_MARGIN_MS);
  for (const a of rows) await deliverAlert(db.pool, cfg, a);
  return rows.length;
}
const outbox = async (projectId: number) =>
  (await db.pool.query('SELECT id::int, rule_id::int, issue_id::int, kind, status, attempts, last_status, last_error, detail FROM alert_outbox WHERE project_id = $1 ORDER BY id', [projectId])).rows;
const issueId = async (projectId: number, type: string): Promise<number> =>
  (await db.pool.query('SELECT id::int FROM issue WHERE project_id = $1 AND title LIKE $2', [projectId, `${type}:%`])).rows[0].id;
async function project(name: string, rule: RuleInput): Promise<number> {
  const id = (await createProject(db.pool, { name })).project.id;
  await addRule(db.pool, id, rule);
  return id;
}

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  hooks = await startReceiver();
  config = loadConfig({ PUBLIC_URL: 'http://cc.example', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'alerts@cc.example', ALERT_RETRY_SECS: '0', ALERT_TIMEOUT_MS: '3000', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' }, '/nonexistent');
});
beforeEach(() => {
  smtp.mails.length = 0;
  hooks.received.length = 0;
});
afterAll(async () => {
  await smtp?.close();
  await hooks?.close();
  await db?.drop();
});

test('e-mail: a new issue and its regression reach the rule\'s addresses, with a text and an escaped HTML part', async () => {
  const pid = await project('Shop', { channel: 'email', emailTo: ['Dev@Example.com', 'ops@example.com'], kinds: ['new', 'regression'], actionIntervalMinutes: 0 });
  await enqueue(db.pool, pid, [event('TypeError', '<img src=x onerror=alert(1)> & "quotes"')]);
  await digest();
  expect(await sendDue()).toBe(1);
  expect(smtp.mails).toHaveLength(1);
  const [mail] = smtp.mails;
  expect(mail!.from).toBe('alerts@cc.example');
  expect(mail!.to.sort()).toEqual(['dev@example.com', 'ops@example.com']);
  const raw = decodeQp(mail!.raw);
  expect(subjectOf(mail!.raw)).toBe('[shop] New issue SHOP-1: TypeError: <img src=x onerror=alert(1)> & "quotes"');
  expect(raw).toMatch(/Content-Type: text\/plain/);
  expect(raw).toMatch(/Content-Type: text\/html/);
  const id = await issueId(pid, 'TypeError');
  // the text part names project, issue, level, counts, why, and links to the UI
  expect(raw).toContain('Project: Shop');
  expect(raw).toContain('Issue: SHOP-1');
  expect(raw).toContain('Level: error');
  expect(raw).toContain('Events: 1');
  expect(raw).toMatch(/First seen: \d{4}-/);
  expect(raw).toContain('Why: Alert rule');
  expect(raw).toContain(`Open: http://cc.example/issues/${id}`);
  // the HTML part escapes the event's text
  const htmlPart = raw.slice(raw.indexOf('Content-Type: text/html'));
  expect(htmlPart).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;');
  expect(htmlPart).not.toContain('<img src=x');
  expect(htmlPart).toContain(`<a href="http://cc.example/issues/${id}">`);
  expect(await outbox(pid)).toMatchObject([{ kind: 'new', status: 'delivered', attempts: 1, last_status: 250, last_error: null }]);

  await setIssueStatus(db.pool, [id], 'resolved', null);
  await enqueue(db.pool, pid, [event('TypeError', '<img src=x onerror=alert(1)> & "quotes"')]);
  await digest();
  expect(await sendDue()).toBe(1);
  expect(smtp.mails).toHaveLength(2);
  expect(subjectOf(smtp.mails[1]!.raw)).toMatch(/^\[shop\] Regression SHOP-1: /);
  expect(decodeQp(smtp.mails[1]!.raw)).toContain('a resolved issue has a new event');
});

test('e-mail: a frequency trigger fires once its count is exceeded, and says why', async () => {
  const pid = await project('Freq', { name: 'busy checkout', channel: 'email', emailTo: ['dev@example.com'], kinds: ['frequency'], eventThreshold: 3, eventWindowMinutes: 60 });
  await enqueue(db.pool, pid, [event('Slow'), event('Slow'), event('Slow')]);
  await digest();
  expect(await outbox(pid)).toEqual([]); // 3 is not more than 3
  await enqueue(db.pool, pid, [event('Slow'), event('Slow')]);
  await digest();
  expect(await outbox(pid)).toMatchObject([{ kind: 'frequency', detail: '5 events in the last 60 minutes (more than 3)' }]);
  await sendDue();
  expect(smtp.mails).toHaveLength(1);
  expect(subjectOf(smtp.mails[0]!.raw)).toBe('[freq] Frequent issue FREQ-1: Slow: boom');
  expect(decodeQp(smtp.mails[0]!.raw)).toContain('Why: Rule "busy checkout": 5 events in the last 60 minutes (more than 3)');
});

test('e-mail to project members: every UI user but the one who turned the project off', async () => {
  await createUser(db.pool, 'ann@example.com', 'a long enough password');
  const bob = await createUser(db.pool, 'bob@example.com', 'a long enough password');
  const pid = await project('Members', { channel: 'email', emailMembers: true, emailTo: ['lead@example.com'] });
  await setEmailOptOut(db.pool, Number(bob.id), pid, true);
  await enqueue(db.pool, pid, [event('MemberError')]);
  await digest();
  await sendDue();
  expect(smtp.mails.map((m) => m.to.sort())).toEqual([['ann@example.com', 'lead@example.com']]);
});

test('a refused recipient and an unreachable server are failed deliveries with the SMTP reply', async () => {
  smtp.reject.add('nobody@example.com');
  const pid = await project('Refused', { channel: 'email', emailTo: ['nobody@example.com'] });
  await enqueue(db.pool, pid, [event('Refused')]);
  await digest();
  await sendDue();
  // 5xx: permanent, given up at once
  expect(await outbox(pid)).toMatchObject([{ status: 'failed', attempts: 1, last_status: 550, last_error: expect.stringMatching(/^SMTP 550 5\.1\.1 mailbox unavailable/) }]);
  expect(smtp.mails).toHaveLength(0);

  const down = loadConfig({ PUBLIC_URL: 'http://cc.example', SMTP_URL: 'smtp://user:s3cret@127.0.0.1:1', ALERT_RETRY_SECS: '0', ALERT_TIMEOUT_MS: '3000' }, '/nonexistent');
  const pid2 = await project('Unreachable', { channel: 'email', emailTo: ['dev@example.com'] });
  await enqueue(db.pool, pid2, [event('Unreachable')]);
  await digest();
  await sendDue(down);
  const [row] = await outbox(pid2);
  expect(row).toMatchObject({ status: 'pending', attempts: 1, last_status: null, last_error: expect.stringMatching(/^SMTP ESOCKET: connect ECONNREFUSED 127\.0\.0\.1:1$/) });
  expect(row.last_error).not.toContain('s3cret');
  await db.pool.query('DELETE FROM alert_outbox WHERE project_id = $1', [pid2]);

  // a password on smtp:// to a server without STARTTLS: nothing sent, rather than the password in clear text
  const plain = loadConfig({ PUBLIC_URL: 'http://cc.example', SMTP_URL: `smtp://user:s3cret@127.0.0.1:${smtp.port}`, ALERT_RETRY_SECS: '0', ALERT_TIMEOUT_MS: '3000' }, '/nonexistent');
  const pid3 = await project('Plain', { channel: 'email', emailTo: ['dev@example.com'] });
  await enqueue(db.pool, pid3, [event('Plain')]);
  await digest();
  await sendDue(plain);
  const [p3] = await outbox(pid3);
  // nodemailer insists on STARTTLS, which this server refuses: its reply is the recorded error
  expect(p3.last_error).toBe('SMTP 500 Error: command not recognized');
  expect(p3.last_error).not.toContain('s3cret');
  expect(smtp.mails).toHaveLength(0);
  await db.pool.query('DELETE FROM alert_outbox WHERE project_id = $1', [pid3]);
});

test('Slack, Discord and Teams get their documented shapes, with event text that cannot mention or link', async () => {
  const evil = '<!channel> <https://evil.example|click here> @everyone **bold** [x](https://evil.example)';
  const slack = await project('Chat Slack', { channel: 'slack', webhookUrl: `${hooks.url}/slack` });
  const discord = await project('Chat Discord', { channel: 'discord', webhookUrl: `${hooks.url}/discord` });
  const teams = await project('Chat Teams', { channel: 'teams', webhookUrl: `${hooks.url}/teams` });
  for (const pid of [slack, discord, teams]) await enqueue(db.pool, pid, [event('Injected', evil)]);
  await digest();
  expect(await sendDue()).toBe(3);
  const by = (p: string) => hooks.received.find((r) => r.path === `/hook/${p}`)!.body;

  // Slack: Block Kit — header (plain_text ≤ 150), sections (mrkdwn), context, actions with a button URL
  const s = by('slack');
  expect(s.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section', 'context', 'actions']);
  expect(s.blocks[0].text).toMatchObject({ type: 'plain_text' });
  expect(s.blocks[0].text.text.length).toBeLessThanOrEqual(150);
  expect(s.blocks[2].fields.length).toBeLessThanOrEqual(10);
  expect(s.blocks[4].elements[0]).toMatchObject({ type: 'button', url: expect.stringMatching(/^http:\/\/cc\.example\/issues\/\d+$/) });
  const slackText = JSON.stringify([s.text, s.blocks[1], s.blocks[2], s.blocks[3]]);
  expect(slackText).toContain('&lt;!channel&gt; &lt;https://evil.example|click here&gt;');
  expect(slackText).not.toMatch(/<!channel>|<https:\/\/evil/);

  // Discord: one embed within its limits; mentions disabled and escaped
  const d = by('discord');
  expect(d.allowed_mentions).toEqual({ parse: [] });
  expect(d.embeds).toHaveLength(1);
  const e = d.embeds[0];
  expect(e.title.length).toBeLessThanOrEqual(256);
  expect(e.url).toMatch(/^http:\/\/cc\.example\/issues\/\d+$/);
  expect(e.fields.length).toBeLessThanOrEqual(25);
  for (const f of e.fields) expect(f.value.length).toBeLessThanOrEqual(1024);
  expect(e.title).not.toContain('@everyone');
  expect(e.title).toContain('\\*\\*bold\\*\\*');
  expect(e.title).toContain('\\[x\\]\\(https\\:');

  // Teams: a message with one Adaptive Card attachment
  const t = by('teams');
  expect(t.type).toBe('message');
  expect(t.attachments).toHaveLength(1);
  expect(t.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
  const card = t.attachments[0].content;
  expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
  expect(card.body[0]).toMatchObject({ type: 'TextBlock', wrap: true });
  expect(card.body.at(-1).type).toBe('FactSet');
  expect(card.actions[0]).toMatchObject({ type: 'Action.OpenUrl', url: expect.stringMatching(/^http:\/\/cc\.example\/issues\/\d+$/) });
  expect(card.body[0].text).toContain('\\*\\*bold\\*\\*');

  // the generic webhook's text is Slack-escaped too (Mattermost and Slack show it as is)
  const hook = await project('Chat Hook', { channel: 'webhook', webhookUrl: `${hooks.url}/generic` });
  await enqueue(db.pool, hook, [event('Injected', evil)]);
  await digest();
  await sendDue();
  const g = by('generic');
  expect(g.text).toContain('&lt;!channel&gt;');
  expect(g.issue.title).toBe(`Injected: ${evil}`); // the raw value is data, for programs
});

test('a 4xx from Slack is a visible failed attempt; a test send shows the receiver\'s answer', async () => {
  const pid = await project('Slack Down', { channel: 'slack', webhookUrl: `${hooks.url}/gone` });
  const rule = (await db.pool.query('SELECT id::int FROM alert_rule WHERE project_id = $1', [pid])).rows[0].id;
  hooks.respond = () => 404;
  try {
    const r = await sendTestAlert(db.pool, config, rule);
    expect(r).toMatchObject({ ok: false, httpStatus: 404, answer: 'HTTP 404 Not Found' });
    expect(await outbox(pid)).toMatchObject([{ kind: 'test', status: 'failed', last_status: 404, last_error: 'HTTP 404 Not Found' }]);
  } finally {
    hooks.respond = () => 200;
  }
  const ok = await sendTestAlert(db.pool, config, rule);
  expect(ok).toMatchObject({ ok: true, httpStatus: 200, answer: 'HTTP 200' });

  const mailRule = (await addRule(db.pool, pid, { channel: 'email', emailTo: ['dev@example.com'] })).id;
  expect(await sendTestAlert(db.pool, config, mailRule)).toMatchObject({ ok: true, httpStatus: 250, answer: expect.stringMatching(/^SMTP 250 /) });
  expect(subjectOf(smtp.mails[0]!.raw)).toBe('[slack-down] Test notification from crash-cache');
});

test('by default a webhook on the loopback is refused at send time: a failed attempt, nothing sent', async () => {
  const strict = loadConfig({ PUBLIC_URL: 'http://cc.example', ALERT_RETRY_SECS: '0', ALERT_TIMEOUT_MS: '3000' }, '/nonexistent');
  const pid = await project('Strict', { channel: 'slack', webhookUrl: `${hooks.url}/internal` });
  await enqueue(db.pool, pid, [event('Internal')]);
  await digest();
  await sendDue(strict);
  expect(hooks.received).toHaveLength(0);
  expect(await outbox(pid)).toMatchObject([{ status: 'pending', attempts: 1, last_status: null, last_error: expect.stringMatching(/^refused: 127\.0\.0\.1 is an internal address .*OUTBOUND_ALLOW_INTERNAL/) }]);
});

test('the action interval holds under a burst of 1,000 events of one issue: exactly one notification', async () => {
  const pid = await project('Burst', { channel: 'webhook', webhookUrl: `${hooks.url}/burst`, kinds: ['new', 'frequency'], eventThreshold: 10, eventWindowMinutes: 60, actionIntervalMinutes: 30 });
  const other = await project('Burst Users', { channel: 'webhook', webhookUrl: `${hooks.url}/burst-users`, kinds: ['users'], userThreshold: 5, userWindowMinutes: 60 });
  for (let b = 0; b < 10; b++) {
    await enqueue(db.pool, pid, Array.from({ length: 100 }, () => event('Storm')));
    await enqueue(db.pool, other, Array.from({ length: 100 }, (_, i) => event('UserStorm', 'boom', { user: { id: `u${b}-${i}` } })));
    await digest(); // each round ends in a fold: ten folds, each over the threshold
  }
  expect((await db.pool.query('SELECT event_count::int AS n FROM issue WHERE project_id = $1', [pid])).rows).toEqual([{ n: 1000 }]);
  expect((await outbox(pid)).map((r) => r.kind)).toEqual(['new']);
  const users = await outbox(other);
  expect(users.map((r) => r.kind)).toEqual(['users']);
  expect(users[0].detail).toMatch(/^\d+ new users in the last 60 minutes \(more than 5\)$/);
  await sendDue();
  expect(hooks.received.filter((r) => r.path.startsWith('/hook/burst'))).toHaveLength(2);
});

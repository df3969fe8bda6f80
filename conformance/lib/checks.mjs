// One check per feature: what a user would see through the read API after the SDK ran. A check
// returns a short note on success and throws CheckError/ApiError (the cell's reason) otherwise.
import { CheckError, entry, eventually, expect, tagValue } from './api.mjs';
import { itemType } from '../../dist/src/protocol/categories.js';
import { SOURCEMAP_CHECKS } from './sourcemaps.mjs';

const frameInApp = (f) => f.inApp ?? f.in_app;
const frameHasContext = (f) => (Array.isArray(f.context) && f.context.length > 0) || !!f.context_line;
const exceptionValues = (ev) => entry(ev, 'exception')?.values ?? ev.exception?.values ?? [];

// The run's own event: by the id the app printed (exact, whatever the grouping merged it into), else
// by searching issue titles for the text, as a user would.
async function issueEvent(cx, text) {
  return eventually(async () => {
    if (cx.eventId) {
      const event = await cx.api.get(`/projects/${cx.api.org}/${cx.project}/events/${cx.eventId}/`);
      expect(event.groupID, `event ${cx.eventId} belongs to no issue`);
      const issue = await cx.api.get(`/issues/${event.groupID}/`);
      expect(String(event.title ?? '').includes(text) || String(entry(event, 'message')?.formatted ?? '').includes(text) ||
        exceptionValues(event).some((v) => String(v.value ?? '').includes(text)), `event title "${event.title}" does not show "${text}"`);
      return { issue, event };
    }
    const issue = await cx.api.findIssue(cx.project, text);
    const event = await cx.api.latestEvent(issue.id);
    return { issue, event };
  });
}

// Frames of the exception, or — for SDKs whose errors carry no stack of their own (Rust) — of the
// thread the SDK attached, which is where Sentry shows them too.
function framesOf(event, value) {
  const own = value?.stacktrace?.frames ?? [];
  if (own.length) return { frames: own, where: 'exception' };
  const threads = entry(event, 'threads')?.values ?? event.threads?.values ?? [];
  const t = threads.find((x) => x.crashed || x.current) ?? threads[0];
  return { frames: t?.stacktrace?.frames ?? [], where: 'thread' };
}

function checkFrames(cx, event, value) {
  const { frames, where } = framesOf(event, value);
  expect(frames.length > 0, `exception "${value?.type}" has no stack frames`);
  const re = cx.sdk.frameFunction ?? /fail_?deep|failDeep|panic_deep|fail_deeper/i;
  const ours = frames.find((f) => re.test(String(f.function ?? '')));
  expect(ours, `no frame of the app's ${re} among ${frames.length} frames (${frames.slice(-3).map((f) => f.function).join(', ')})`);
  expect(frameInApp(ours) === true, `frame ${ours.function} is not marked in-app (inApp=${frameInApp(ours)})`);
  if (cx.sdk.contextLines) expect(frameHasContext(ours), `frame ${ours.function} has no context lines`);
  return `${frames.length} frames${where === 'thread' ? ' (on the thread)' : ''}, ${ours.function} in-app${frameHasContext(ours) ? ' with context lines' : ''}`;
}

/** The health data of this run's release, as a user reads it from the releases list. */
async function releaseHealth(cx) {
  const list = await cx.api.get(`/organizations/${cx.api.org}/releases/?health=1&project=${cx.projectId}`);
  const r = list.find((x) => x.version === cx.release);
  expect(r, `release ${cx.release} not in the releases list (${list.length} releases)`);
  const h = r.healthData ?? r.projects?.find((p) => String(p.id) === String(cx.projectId))?.healthData;
  expect(h, `release ${cx.release} has no healthData`);
  return h;
}

// stats_v2 (like Sentry's) ends its window at the next whole interval and starts it one period
// before: at 01:00:05, statsPeriod=1h covers 01:00-02:00 only, and a cell run at 00:59 whose check
// asks at 01:00 finds nothing (CI did, once). A day's window covers any run: its projects are new.
const STATS_PERIOD = '24h';

export const CHECKS = {
  ...SOURCEMAP_CHECKS,
  // The project allows 1 request/s per data category (bucket of 10 s); the app sends 25 events one
  // after another. After the first 429, the SDK must send nothing of the categories the header names
  // (all of them when it names none) during its retry_after; other categories (the browser SDK's
  // spans, sessions) and client reports are not limited and may go on. Arrival times, not sleeps: a
  // slow run only sends less.
  async ratelimit(cx) {
    const recs = cx.records.filter((r) => r.method === 'POST' && !(r.items.length && r.items.every((t) => t === 'client_report')));
    const first = recs.find((r) => r.status === 429);
    expect(first, `the server never answered 429 (${recs.length} requests: ${[...new Set(recs.map((r) => r.status))].join(', ')})`);
    expect(first.rateLimits, 'the 429 carried no X-Sentry-Rate-Limits');
    const [secsText, cats] = first.rateLimits.split(':');
    const secs = Number.parseFloat(secsText);
    const limited = new Set(cats ? cats.split(';') : []);
    const isLimited = (t) => {
      const c = itemType(t).rateLimit;
      return c !== null && (!limited.size || limited.has(c === 'event' ? 'error' : c));
    };
    const end = first.doneAt + secs * 1000;
    const during = recs.filter((r) => r.at > first.doneAt && r.at < end && (!r.items.length || r.items.some(isLimited)));
    expect(during.length === 0, `${during.length} request(s) of a limited category sent during the ${secs} s back-off after a 429 with X-Sentry-Rate-Limits "${first.rateLimits}"`);
    expect(recs.some((r) => r.status >= 200 && r.status < 300), 'no request was accepted before the 429');
    // What the API can show of it: the server's refusals, counted as rate_limited outcomes.
    await eventually(async () => {
      const q = new URLSearchParams({ field: 'sum(quantity)', project: String(cx.projectId), statsPeriod: STATS_PERIOD, interval: '1h' });
      q.append('groupBy', 'outcome');
      const res = await cx.api.get(`/organizations/${cx.api.org}/stats_v2/?${q}`);
      const g = (res.groups ?? []).find((x) => x.by?.outcome === 'rate_limited');
      expect(g && g.totals?.['sum(quantity)'] >= 1, `no rate_limited outcome in stats_v2 (${JSON.stringify(res.groups ?? [])})`);
    }, 20_000);
    // Counts (requests accepted before the limit, requests sent) depend on the run's timing: left out
    // so that the matrix changes only when results do.
    return `accepted until the limit, then 429 with X-Sentry-Rate-Limits "${first.rateLimits}"; nothing of a limited category sent during the ${secs} s back-off (proxy's record); stats_v2 counts the refusals as rate_limited`;
  },
  async handled(cx) {
    const text = `conformance handled ${cx.marker}`;
    const { issue, event } = await issueEvent(cx, text);
    const values = exceptionValues(event);
    expect(values.length > 0, 'event has no exception entry');
    // Sentry derives the culprit from the exception's own frames only; without them it is empty.
    if (values.at(-1).stacktrace?.frames?.length) expect(issue.culprit, `issue "${issue.title}" has no culprit`);
    return `title "${issue.title.slice(0, 60)}", culprit "${issue.culprit}", ${checkFrames(cx, event, values.at(-1))}`;
  },
  async unhandled(cx) {
    const text = `conformance unhandled ${cx.marker}`;
    const { issue, event } = await issueEvent(cx, text);
    const v = exceptionValues(event).at(-1);
    expect(v, 'event has no exception entry');
    expect(v.mechanism?.handled === false, `exception not marked unhandled (mechanism ${JSON.stringify(v.mechanism ?? null)})`);
    return `mechanism ${v.mechanism.type} handled=false, ${checkFrames(cx, event, v)}; culprit "${issue.culprit}"`;
  },
  async message(cx) {
    const text = `conformance message ${cx.marker}`;
    const { issue, event } = await issueEvent(cx, text);
    const m = entry(event, 'message');
    const shown = m?.formatted ?? m?.message ?? event.message;
    expect(String(shown ?? '').includes(text), `message entry does not show the text (got ${JSON.stringify(shown)})`);
    return `title "${issue.title.slice(0, 60)}"`;
  },
  async chained(cx) {
    const { issue, event } = await issueEvent(cx, `conformance outer ${cx.marker}`);
    const values = exceptionValues(event);
    expect(values.length >= 2, `expected ≥ 2 chained exceptions, got ${values.length}`);
    expect(values.some((v) => String(v.value ?? '').includes(`conformance inner ${cx.marker}`)), 'the cause ("inner") is not among the exceptions');
    expect(String(values.at(-1).value ?? '').includes('outer'), 'the last exception is not the outer one');
    return `${values.length} exceptions, title "${issue.title.slice(0, 50)}"`;
  },
  async breadcrumbs(cx) {
    const { event } = await issueEvent(cx, `conformance breadcrumbs ${cx.marker}`);
    const crumbs = entry(event, 'breadcrumbs')?.values ?? [];
    for (const i of [1, 2, 3]) {
      expect(crumbs.some((b) => String(b.message ?? '').includes(`crumb-${i} ${cx.marker}`)), `breadcrumb crumb-${i} missing (${crumbs.length} breadcrumbs)`);
    }
    return `${crumbs.length} breadcrumbs`;
  },
  async context(cx) {
    const { event } = await issueEvent(cx, `conformance context ${cx.marker}`);
    expect(tagValue(event, 'cc_marker') === cx.marker, `tag cc_marker is ${JSON.stringify(tagValue(event, 'cc_marker'))}`);
    expect(String(event.user?.id) === `user-${cx.marker}`, `user.id is ${JSON.stringify(event.user?.id)}`);
    expect(event.user?.email === 'conformance@example.com', `user.email is ${JSON.stringify(event.user?.email)}`);
    if (cx.sdk.id === 'sentry-cli') {
      return 'tag, user (send-event has no contexts)';
    }
    expect(event.contexts?.conformance?.marker === cx.marker, `contexts.conformance is ${JSON.stringify(event.contexts?.conformance ?? null)}`);
    return 'tag, user, custom context';
  },
  async release(cx) {
    const { event } = await issueEvent(cx, `conformance release ${cx.marker}`);
    const release = typeof event.release === 'string' ? event.release : event.release?.version;
    expect(release === cx.release, `event release is ${JSON.stringify(release ?? null)}, expected ${cx.release}`);
    const env = event.environment ?? tagValue(event, 'environment');
    expect(env === 'conformance', `environment is ${JSON.stringify(env ?? null)}`);
    const list = await cx.api.get(`/organizations/${cx.api.org}/releases/?project=${cx.projectId}`);
    expect(list.some((r) => r.version === cx.release), `release ${cx.release} not in the releases list`);
    return `release ${cx.release}, environment conformance, listed in releases`;
  },
  async session(cx) {
    return eventually(async () => {
      const h = await releaseHealth(cx);
      expect(h.totalSessions >= 1, `healthData.totalSessions is ${h.totalSessions}`);
      expect(h.sessionsErrored >= 1, `healthData.sessionsErrored is ${h.sessionsErrored} after a captured error`);
      expect(typeof h.crashFreeSessions === 'number', `crashFreeSessions is ${h.crashFreeSessions}`);
      return `${h.totalSessions} session(s), ${h.sessionsErrored} errored, crash-free ${h.crashFreeSessions}%`;
    }, 20_000);
  },
  async crash(cx) {
    return eventually(async () => {
      const h = await releaseHealth(cx);
      expect(h.totalSessions >= 1, `healthData.totalSessions is ${h.totalSessions}: the session with the unhandled error was not counted`);
      if (cx.sdk.unhandledSessionStatus === 'unhandled') {
        expect(h.sessionsErrored >= 1, `healthData.sessionsErrored is ${h.sessionsErrored} for a session ended "unhandled"`);
        return `${h.totalSessions} session(s) ended "unhandled": ${h.sessionsErrored} errored, ${h.sessionsCrashed} crashed, crash-free ${h.crashFreeSessions}%`;
      }
      expect(h.sessionsCrashed >= 1, `healthData.sessionsCrashed is ${h.sessionsCrashed} after an unhandled exception (${h.totalSessions} sessions)`);
      expect(h.crashFreeSessions < 100, `crashFreeSessions is ${h.crashFreeSessions}% with a crashed session`);
      return `${h.totalSessions} session(s), ${h.sessionsCrashed} crashed, crash-free ${h.crashFreeSessions}%`;
    }, 20_000);
  },
  async transaction(cx) {
    const name = `conformance-tx-${cx.marker}`;
    const sent = cx.records.filter((r) => r.items.some((t) => t === 'transaction' || t === 'span'));
    expect(sent.length, `the SDK sent no transaction or span item (items: ${[...new Set(cx.records.flatMap((r) => r.items))].sort().join(', ') || 'none'})`);
    expect(sent.every((r) => r.status >= 200 && r.status < 300), `the server refused the transaction: ${sent.map((r) => r.status).join(', ')}`);
    const items = [...new Set(sent.flatMap((r) => r.items))].sort().join('+');
    // Sentry's Discover query finds the transaction by name; without that route, the accepted
    // count in stats_v2 is what a user can see.
    const q = new URLSearchParams({ dataset: 'transactions', field: 'transaction', project: String(cx.projectId), statsPeriod: STATS_PERIOD, query: `transaction:"${name}"` });
    q.append('field', 'count()');
    try {
      const res = await eventually(() => cx.api.get(`/organizations/${cx.api.org}/events/?${q}`), 20_000);
      const row = (res.data ?? []).find((d) => d.transaction === name);
      expect(row, `transaction ${name} not found by name`);
      return `${items} accepted; found by name, count ${row['count()'] ?? '?'}`;
    } catch (e) {
      if (!/no route/.test(e.message)) throw e;
    }
    // @sentry/node and @sentry/browser 11 send a transaction as `span` items only (span streaming).
    const category = sent.some((r) => r.items.includes('transaction')) ? 'transaction' : 'span';
    return eventually(async () => {
      const s = new URLSearchParams({ field: 'sum(quantity)', category, project: String(cx.projectId), statsPeriod: STATS_PERIOD, interval: '1h' });
      s.append('groupBy', 'outcome');
      const res = await cx.api.get(`/organizations/${cx.api.org}/stats_v2/?${s}`);
      const g = (res.groups ?? []).find((x) => x.by?.outcome === 'accepted');
      expect(g && g.totals?.['sum(quantity)'] >= 1, `no accepted ${category} in stats_v2 (${JSON.stringify(res.groups ?? [])})`);
      // how many spans a page load sends varies from run to run: the count is not shown
      return `${items} accepted (proxy's record); stats_v2 counts accepted ${category}s (no read API finds a transaction by name yet)`;
    }, 10_000);
  },
  async attachment(cx) {
    const { event } = await issueEvent(cx, `conformance attachment ${cx.marker}`);
    const eventId = event.eventID ?? event.id;
    const base = `/projects/${cx.api.org}/${cx.project}/events/${eventId}/attachments/`;
    const list = await eventually(async () => {
      const l = await cx.api.get(base);
      expect(l.some((a) => a.name === 'conformance.txt'), `no attachment conformance.txt (${l.length} attachments)`);
      return l;
    }, 10_000);
    const att = list.find((a) => a.name === 'conformance.txt');
    const bytes = await cx.api.get(`${base}${att.id}/?download=1`, { raw: true });
    const want = `attachment-bytes ${cx.marker}\n`;
    expect(bytes.toString('utf8') === want, `attachment bytes differ: ${JSON.stringify(bytes.toString('utf8').slice(0, 80))}`);
    return `conformance.txt, ${bytes.length} bytes identical`;
  },
  async feedback(cx) {
    const text = `conformance feedback ${cx.marker}`;
    return eventually(async () => {
      const list = await cx.api.get(`/projects/${cx.api.org}/${cx.project}/user-feedback/`);
      const f = list.find((x) => x.comments === text || x.message === text);
      expect(f, `no feedback "${text}" among ${list.length}`);
      return `comments shown${f.email ? `, email ${f.email}` : ''}${f.eventID || f.event?.eventID ? ', linked to its event' : ''}`;
    }, 20_000);
  },
  async checkin(cx) {
    return eventually(async () => {
      const list = await cx.api.get(`/organizations/${cx.api.org}/monitors/${cx.monitor}/checkins/`);
      expect(list.some((c) => c.status === 'ok'), `no ok check-in for ${cx.monitor} (${list.map((c) => c.status).join(', ') || 'none'})`);
      return `monitor ${cx.monitor}: ${list.length} check-in(s), last ok`;
    }, 20_000);
  },
  async client_report(cx) {
    const sent = cx.records.some((r) => r.items.includes('client_report'));
    if (!sent) throw new CheckError(`the SDK sent no client_report item in this run (items seen: ${[...new Set(cx.records.flatMap((r) => r.items))].sort().join(', ') || 'none'})`);
    return eventually(async () => {
      const q = new URLSearchParams({ field: 'sum(quantity)', category: 'error', project: String(cx.projectId), statsPeriod: STATS_PERIOD, interval: '1h' });
      q.append('groupBy', 'outcome');
      q.append('groupBy', 'reason');
      const res = await cx.api.get(`/organizations/${cx.api.org}/stats_v2/?${q}`);
      const g = (res.groups ?? []).find((x) => x.by?.outcome === 'client_discard' && x.by?.reason === 'before_send');
      expect(g && g.totals?.['sum(quantity)'] >= 1, 'no client_discard/before_send outcome in stats_v2');
      return `client_report item sent (proxy's record); stats_v2 shows client_discard before_send ${g.totals['sum(quantity)']}`;
    }, 20_000);
  },
  async compression(cx) {
    const { event } = await issueEvent(cx, `conformance compression ${cx.marker}`);
    const text = event.contexts?.payload?.text;
    expect(typeof text === 'string' && text.includes(cx.marker), 'the large context did not arrive');
    const enc = [...new Set(cx.records.filter((r) => r.method === 'POST').map((r) => r.encoding || 'identity'))].join(', ');
    // the compressed size differs by a few bytes from run to run (random marker and ids): not shown
    return `large event sent as ${enc} (proxy's record), its context read back whole`;
  },
};

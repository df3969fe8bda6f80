import { html, type Html } from './html.js';
import { scrubNotice } from './scrub-view.js';
import { exceptionsView, stacktraceView, threadsView } from './stacktrace-view.js';
import { isObj, isoTime, kvTable, listOf, pairs, text, toDate, valueCell, type Obj } from './values.js';

// One event, as the digest rebuilds it from the archive (loadEvent: the normalized event in the
// protocol's own shape). Every field is attacker-controlled text; it reaches markup only via `html`.

export function messageOf(ev: Obj): string {
  const le = isObj(ev.logentry) ? ev.logentry : isObj(ev.message) ? ev.message : null;
  if (le) return text(le.formatted) || text(le.message);
  return text(ev.message);
}

function breadcrumbsView(v: unknown): Html {
  const crumbs = listOf(v);
  if (!crumbs.length) return html``;
  return html`<h2>Breadcrumbs <span class="muted">(${crumbs.length}, oldest first)</span></h2>
<table class="crumbs">
<thead><tr><th>Time</th><th>Category</th><th>Level</th><th>Message / data</th></tr></thead>
<tbody>${crumbs.map((b) => {
    const t = toDate(b.timestamp);
    return html`<tr><td class="mono">${t ? t.toISOString().slice(11, 23) : ''}</td><td class="mono">${text(b.category) || text(b.type)}</td><td class="level level-${text(b.level)}">${text(b.level)}</td><td>${b.message !== undefined ? html`<div>${text(b.message)}</div>` : ''}${isObj(b.data) && Object.keys(b.data).length ? html`<pre>${text(b.data)}</pre>` : ''}</td></tr>`;
  })}</tbody>
</table>`;
}

function requestView(r: unknown): Html {
  if (!isObj(r)) return html``;
  const rows: [string, unknown][] = [];
  if (r.method !== undefined) rows.push(['method', r.method]);
  if (r.url !== undefined) rows.push(['url', r.url]);
  if (r.query_string !== undefined && r.query_string !== '' && !(Array.isArray(r.query_string) && !r.query_string.length)) rows.push(['query', typeof r.query_string === 'string' ? r.query_string : pairs(r.query_string).map(([k, v]) => `${k}=${text(v)}`).join('&')]);
  if (r.fragment) rows.push(['fragment', r.fragment]);
  if (r.data !== undefined && r.data !== null) rows.push(['data', r.data]);
  if (r.cookies) rows.push(['cookies', r.cookies]);
  for (const [k, v] of pairs(r.headers)) rows.push([`header ${k}`, v]);
  for (const [k, v] of pairs(r.env)) rows.push([`env ${k}`, v]);
  return html`<h2>Request</h2>${kvTable(rows)}`;
}

function contextsView(c: unknown): Html {
  // a context holding nothing but its `type` says nothing
  const entries = pairs(c).filter(([, v]) => isObj(v) && Object.keys(v).some((k) => k !== 'type'));
  if (!entries.length) return html``;
  return html`<h2>Contexts</h2>${entries.map(([name, v]) => html`<h3>${name}</h3>${kvTable(Object.entries(v as Obj).filter(([k]) => k !== 'type'))}`)}`;
}

function sdkView(s: unknown): Html {
  if (!isObj(s)) return html``;
  const rows: [string, unknown][] = [['name', s.name], ['version', s.version]];
  if (Array.isArray(s.integrations) && s.integrations.length) rows.push(['integrations', s.integrations.map(text).join(', ')]);
  if (Array.isArray(s.packages) && s.packages.length) rows.push(['packages', s.packages.filter(isObj).map((p) => `${text(p.name)}@${text(p.version)}`).join(', ')]);
  return html`<h2>SDK</h2>${kvTable(rows)}`;
}

/** Why the event is in this issue: the grouping variants, which one contributed, and its component tree. */
export function groupingView(g: unknown): Html {
  if (!isObj(g)) return html`<h2>Grouping</h2><p class="muted">No grouping information was stored for this issue.</p>`;
  const variants = isObj(g.variants) ? g.variants : g;
  const config = text(g.config);
  const primary = text(g.primaryHash ?? g.primary_hash);
  const comp = (c: unknown): Html => {
    if (!isObj(c)) return html`<li class="mono">${text(c)}</li>`;
    const vals = Array.isArray(c.values) ? c.values : [];
    return html`<li><span class="mono${c.contributes === false ? ' muted' : ''}">${text(c.id)}</span>${c.contributes === false ? html` <span class="muted">(ignored${c.hint ? html`: ${text(c.hint)}` : ''})</span>` : c.hint ? html` <span class="muted">(${text(c.hint)})</span>` : ''}${vals.length ? html`<ul>${vals.map(comp)}</ul>` : ''}</li>`;
  };
  const list = Object.entries(variants).filter(([, v]) => isObj(v)) as [string, Obj][];
  const used = (v: Obj) => !!primary && v.hash === primary && v.contributes === true;
  list.sort(([, a], [, b]) => Number(used(b)) - Number(used(a)) || Number(b.contributes === true) - Number(a.contributes === true));
  const verdict = (v: Obj) => (used(v) ? 'decides the issue' : v.contributes === true ? 'contributes, not used' : 'does not contribute');
  return html`<h2>Why it was grouped here</h2>
<p>${config ? html`Grouping config <code>${config}</code>. ` : ''}${primary ? html`Primary hash <code>${primary}</code>. ` : ''}Events whose deciding variant yields the same hash land in the same issue; only the components not marked ignored went into the hash.</p>
${list.map(
  ([name, v]) => html`<details class="snippet grouping-variant"${used(v) ? html` open` : ''}><summary>${name}: ${verdict(v)}${v.hash ? html` · <code>${text(v.hash)}</code>` : ''}${v.hint ? html` <span class="muted">(${text(v.hint)})</span>` : ''}</summary>
${Array.isArray(v.values) ? html`<p>Fingerprint: <code>${v.values.map(text).join(', ')}</code></p>` : ''}
${isObj(v.component) ? html`<ul class="mono">${comp(v.component)}</ul>` : ''}
</details>`,
)}`;
}

export interface EventViewOptions {
  grouping?: unknown;
}

export function eventView(ev: Obj, o: EventViewOptions = {}): Html {
  const msg = messageOf(ev);
  const hasException = listOf(ev.exception).length > 0;
  const tags = pairs(ev.tags);
  const user = isObj(ev.user) ? Object.entries(ev.user) : [];
  const ts = toDate(ev.timestamp);
  const received = toDate(ev.received);
  return html`${scrubNotice(ev)}<dl class="meta">
  <dt>Event ID</dt><dd class="mono">${text(ev.event_id)}</dd>
  ${ts ? html`<dt>Occurred</dt><dd>${isoTime(ts)}</dd>` : ''}
  ${received ? html`<dt>Received</dt><dd>${isoTime(received)}</dd>` : ''}
  ${ev.level ? html`<dt>Level</dt><dd class="level level-${text(ev.level)}">${text(ev.level)}</dd>` : ''}
  ${ev.platform ? html`<dt>Platform</dt><dd>${text(ev.platform)}</dd>` : ''}
  ${ev.release ? html`<dt>Release</dt><dd class="mono">${text(ev.release)}</dd>` : ''}
  ${ev.environment ? html`<dt>Environment</dt><dd>${text(ev.environment)}</dd>` : ''}
  ${ev.server_name ? html`<dt>Server</dt><dd>${text(ev.server_name)}</dd>` : ''}
  ${ev.transaction ? html`<dt>Transaction</dt><dd class="mono">${text(ev.transaction)}</dd>` : ''}
</dl>
${msg ? html`<h2>Message</h2><pre class="message">${msg}</pre>` : ''}
${exceptionsView(ev.exception, listOf(ev.errors))}
${!hasException && isObj(ev.stacktrace) ? html`<h2>Stack trace</h2>${stacktraceView(ev.stacktrace)}` : ''}
${threadsView(ev.threads, hasException)}
${breadcrumbsView(ev.breadcrumbs)}
${requestView(ev.request)}
${user.length ? html`<h2>User</h2>${kvTable(user)}` : ''}
${tags.length ? html`<h2>Tags</h2>${kvTable(tags)}` : ''}
${contextsView(ev.contexts)}
${isObj(ev.extra) && Object.keys(ev.extra).length ? html`<h2>Additional data</h2>${kvTable(Object.entries(ev.extra))}` : ''}
${sdkView(ev.sdk)}
${Array.isArray(ev.fingerprint) ? html`<h2>Fingerprint</h2><p><code>${ev.fingerprint.map(text).join(', ')}</code></p>` : ''}
${o.grouping !== undefined ? groupingView(o.grouping) : ''}
${ev.errors && Array.isArray(ev.errors) && ev.errors.length ? html`<h2>Processing errors</h2>${(ev.errors as unknown[]).map((e) => html`<div>${valueCell(e)}</div>`)}` : ''}`;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { dsn } from '../storage/dsn.js';
import type { AppContext } from '../context.js';
import { listProjects } from '../storage/projects.js';
import { pageSession, uiPrincipal } from './auth.js';
import { canSeeProject } from '../auth/access.js';
import { html } from './html.js';
import { sendHtml } from './http.js';
import { layout } from './layout.js';
import { sdkSnippets } from './snippets.js';
import { canAdminister } from './project-admin.js';

export async function getProjects(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const who = await uiPrincipal(ctx, session);
  const projects = (await listProjects(ctx.db.pool)).filter((p) => canSeeProject(who, p.id));
  const admin = canAdminister(session);
  const deleted = url.searchParams.get('deleted');
  const body = html`<h1>Projects</h1>
${deleted ? html`<p role="status">Project ${deleted} deleted.</p>` : ''}
${admin ? html`<p><a class="button" href="/projects/new">New project</a></p>` : ''}
${projects.length === 0
  ? html`<p class="empty">No projects yet. ${admin ? 'Create one above, or' : 'Create one'} with <code>crash-cache-cli project create --name my-app</code>; it prints the DSN to paste into your SDK.</p>`
  : html`<table>
<thead><tr><th>Project</th><th>Platform</th><th>DSN</th></tr></thead>
<tbody>
${projects.map(
  (p) => html`<tr>
  <td><a class="issue-title" href="/projects/${encodeURIComponent(p.slug)}/issues">${p.name}</a><div class="issue-sub">${p.slug}${p.disabled ? ' · disabled' : ''}${admin ? html` · <a href="/projects/${encodeURIComponent(p.slug)}/settings">Settings</a>` : ''}</div></td>
  <td>${p.platform ?? html`<span class="muted">—</span>`}</td>
  <td>${p.keys.map((k) => html`<div><code data-copy>${dsn(ctx.config, k, p.id)}</code></div>`)}</td>
</tr>`,
)}
</tbody>
</table>
<h2>Set up an SDK</h2>
${projects.map((p) => {
  const key = p.keys[0];
  if (!key) return '';
  return html`<h3>${p.name}</h3>
${sdkSnippets(dsn(ctx.config, key, p.id)).map(
  (s) => html`<details class="snippet" id="sdk-${p.slug}-${s.id}"><summary>${s.label}</summary>
<pre><code>${s.install}</code></pre>
<pre data-copy><code>${s.code}</code></pre>
</details>`,
)}`;
})}`}`;
  sendHtml(res, 200, layout({ title: 'Projects', session, section: 'projects', body }));
}

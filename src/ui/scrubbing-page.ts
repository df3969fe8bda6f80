import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { scrubSettingsOf } from '../digest/project-scrubbing.js';
import type { ScrubSettings } from '../scrub/settings.js';
import { fieldLines, scrubChange } from '../scrub/validate.js';
import { setProjectScrubbing, type ProjectRow } from '../storage/projects.js';
import { pageSession, postSession } from './auth.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { projectBySlug } from './project-context.js';
import type { Session } from './sessions.js';

// A project's data scrubbing settings (the same as dataScrubber, dataScrubberDefaults,
// sensitiveFields, safeFields and scrubIPAddresses of PUT /api/0/projects/{org}/{project}/), applied
// by the digest to events that arrive from then on.

function checkbox(name: keyof ScrubSettings, checked: boolean, label: string, help: string) {
  return html`<p><label><input type="checkbox" name="${name}" value="1"${checked ? html` checked` : ''}> ${label}</label><br><span class="muted">${help}</span></p>`;
}

function page(session: Session, project: ProjectRow, s: ScrubSettings, message: { error?: string; saved?: boolean }) {
  return layout({ title: `Data scrubbing · ${project.name}`, session, project, section: 'scrubbing', body: html`<h1>Data scrubbing</h1>
<p>Events are scrubbed when they are digested, before anything is stored or shown: a filtered value reads
<code>[Filtered]</code> everywhere (the API, these pages, webhooks, the database and the archived payload). Changes apply to
events that arrive from now on (within a few seconds); <code>crash-cache-cli ruminate</code> applies them to stored events.</p>
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}${message.saved ? html`<p role="status">Saved.</p>` : ''}
<form method="post" action="/projects/${encodeURIComponent(project.slug)}/scrubbing">${csrfField(session)}
${checkbox('dataScrubber', s.dataScrubber, 'Data scrubber', 'Filter sensitive fields (the defaults below, and your own).')}
${checkbox('dataScrubberDefaults', s.dataScrubberDefaults, 'Use default scrubbers', 'Passwords, secrets, tokens, API keys, Authorization and Cookie headers, session cookies, card numbers, IBANs, private keys, URL passwords.')}
${checkbox('scrubIPAddresses', s.scrubIPAddresses, 'Prevent storing of IP addresses', "Remove the user's IP address and replace IP addresses in scrubbed text by [ip].")}
<h2><label for="sensitiveFields">Additional sensitive fields</label></h2>
<p class="muted">One per line: a key (or value) containing one of these is filtered, e.g. <code>email</code>, <code>order_ref</code>.</p>
<textarea id="sensitiveFields" name="sensitiveFields" rows="5" cols="60" spellcheck="false">${s.sensitiveFields.join('\n')}</textarea>
<h2><label for="safeFields">Safe fields</label></h2>
<p class="muted">One per line: keys whose values are never scrubbed, e.g. <code>auth_method</code>.</p>
<textarea id="safeFields" name="safeFields" rows="5" cols="60" spellcheck="false">${s.safeFields.join('\n')}</textarea>
<p><button type="submit" class="primary">Save</button></p>
</form>` });
}

export async function getScrubbing(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  sendHtml(res, 200, page(session, project, scrubSettingsOf(project), { saved: url.searchParams.has('saved') }));
}

export async function postScrubbing(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  const body = {
    dataScrubber: form.get('dataScrubber') === '1',
    dataScrubberDefaults: form.get('dataScrubberDefaults') === '1',
    scrubIPAddresses: form.get('scrubIPAddresses') === '1',
    sensitiveFields: fieldLines(form.get('sensitiveFields') ?? ''),
    safeFields: fieldLines(form.get('safeFields') ?? ''),
  };
  const change = scrubChange(body, { maxFields: ctx.config.scrubMaxFields, maxFieldChars: ctx.config.scrubMaxFieldChars });
  if (typeof change === 'string') {
    sendHtml(res, 400, page(session, project, body, { error: change }));
    return;
  }
  await setProjectScrubbing(ctx.db.pool, project.id, change);
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/scrubbing?saved=1`);
}

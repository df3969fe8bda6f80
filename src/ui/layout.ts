import { html, type Html, type Renderable } from './html.js';
import type { Session } from './sessions.js';
import { roleHas } from '../auth/scopes.js';

// The page shell: one stylesheet, one deferred script, a top bar with the project's sections.

export interface PageProject {
  slug: string;
  name: string;
}

export interface LayoutOptions {
  title: string;
  session?: Session | null;
  project?: PageProject | null;
  section?: 'issues' | 'releases' | 'outcomes' | 'grouping' | 'scrubbing' | 'storage' | 'projects' | 'alerts' | 'monitors' | 'members' | 'tokens' | 'profile' | 'settings';
  body: Renderable;
}

export function csrfField(session: Session): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
}

export function layout(o: LayoutOptions): Html {
  const p = o.project;
  const tab = (section: string, href: string, label: string) =>
    html`<a href="${href}"${o.section === section ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${o.title} · crash-cache</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">crash-cache</a>
  ${o.session
    ? html`<nav>
    ${tab('projects', '/projects', 'Projects')}
    ${p
      ? html`<span class="sep">/</span><span class="proj">${p.name}</span>
    ${tab('issues', `/projects/${encodeURIComponent(p.slug)}/issues`, 'Issues')}
    ${tab('releases', `/projects/${encodeURIComponent(p.slug)}/releases`, 'Releases')}
    ${tab('outcomes', `/projects/${encodeURIComponent(p.slug)}/outcomes`, 'Outcomes')}
    ${tab('monitors', `/projects/${encodeURIComponent(p.slug)}/monitors`, 'Monitors')}
    ${roleHas(o.session.user.role, 'project:write')
      ? html`${tab('grouping', `/projects/${encodeURIComponent(p.slug)}/grouping`, 'Grouping')}
    ${tab('alerts', `/projects/${encodeURIComponent(p.slug)}/alerts`, 'Alerts')}
    ${tab('scrubbing', `/projects/${encodeURIComponent(p.slug)}/scrubbing`, 'Data scrubbing')}
    ${tab('storage', `/projects/${encodeURIComponent(p.slug)}/storage`, 'Storage')}
    ${tab('settings', `/projects/${encodeURIComponent(p.slug)}/settings`, 'Settings')}`
      : ''}`
      : ''}
  </nav>
  <nav class="account">${tab('members', '/members', 'Members')} ${tab('tokens', '/tokens', 'Tokens')} ${tab('profile', '/profile', 'Profile')}</nav>
  <form class="logout" method="post" action="/logout">${csrfField(o.session)}<span class="who">${o.session.user.email}</span> <button type="submit">Log out</button></form>`
    : ''}
</header>
<main>
${o.body}
</main>
</body>
</html>
`;
}

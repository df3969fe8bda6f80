import { escapeHtml } from '../ui/html.js';
import { oneLine, summaryLine, type AlertMessage } from './payload.js';

// An alert as an e-mail: a one-line subject, a plain-text part and an HTML part (every value escaped;
// no images, scripts or styles fetched from anywhere).

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

function rows(m: AlertMessage): [string, string][] {
  const out: [string, string][] = [['Project', m.project.name]];
  if (m.monitor) out.push(['Monitor', m.monitor.slug], ['Environment', m.monitor.environment]);
  if (!m.issue) return out;
  const i = m.issue;
  out.push(['Issue', i.short_id], ['Title', i.title], ['Culprit', i.culprit || '-'], ['Level', i.level], ['Events', String(i.count)], ['Users', String(i.user_count)],
    ['First seen', i.first_seen], ['Last seen', i.last_seen], ['Status', i.substatus ? `${i.status} (${i.substatus})` : i.status]);
  return out;
}

export function emailContent(m: AlertMessage): EmailContent {
  const subject = m.issue ? oneLine(`[${m.project.slug}] ${m.headline} ${m.issue.short_id}: ${m.issue.title}`, 200) : oneLine(`[${m.project.slug}] ${m.headline}${m.monitor ? '' : ' from crash-cache'}`, 200);
  const r = rows(m);
  const text = [
    summaryLine(m),
    '',
    `Why: ${m.why}`,
    '',
    ...r.map(([k, v]) => `${k}: ${oneLine(v, 2000)}`),
    '',
    `Open: ${m.url}`,
    '',
    '-- ',
    'crash-cache. Turn these e-mails off on the project page of the web UI (your notification settings), or ask who made the rule.',
  ].join('\n');
  const cells = r.map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(oneLine(v, 2000))}</td></tr>`).join('');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<h2 style="margin:0 0 8px">${escapeHtml(m.headline)}${m.issue ? `: ${escapeHtml(m.issue.short_id)}` : ''}</h2>
${m.issue ? `<p style="font-size:16px;margin:0 0 8px"><strong>${escapeHtml(oneLine(m.issue.title, 2000))}</strong></p>` : ''}
<p>${escapeHtml(m.why)}</p>
<table>${cells}</table>
<p><a href="${escapeHtml(m.url)}">Open in crash-cache</a></p>
<p style="color:#888;font-size:12px">crash-cache. Turn these e-mails off in the web UI (your notification settings for the project).</p>
</body></html>`;
  return { subject, text, html };
}

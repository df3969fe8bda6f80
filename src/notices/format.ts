import type { Config } from '../config/index.js';
import { shortId } from '../api/short-id.js';
import { issueWebUrl, oneLine } from '../alerts/payload.js';
import type { EmailContent } from '../alerts/format-email.js';
import { escapeHtml } from '../ui/html.js';
import type { ClaimedNotice } from './deliveries.js';

// An e-mail about an issue as its recipient reads it: who did what (assigned it to you, commented,
// with the comment quoted whole), the issue's facts, its link, and why this person gets it and how to
// stop it. Plain text and HTML; every value escaped in the HTML, nothing fetched from anywhere.

const WHY: Record<ClaimedNotice['reason'], string> = {
  assigned: 'the issue was assigned to you',
  mentioned: 'the comment mentions you',
  assignee: 'you are the issue\'s assignee',
  commented: 'you commented on the issue',
  bookmarked: 'you bookmarked the issue',
  subscribed: 'you subscribed to the issue',
};

export function noticeEmail(config: Pick<Config, 'publicUrl'>, n: ClaimedNotice): EmailContent {
  const sid = shortId(n.project_slug, Number(n.short_id));
  const title = oneLine(n.title ?? '', 2000);
  const actor = n.actor_email ?? 'An API token made on the server';
  const url = issueWebUrl(config, n.issue_id);
  const what = n.type === 'assigned' ? `${actor} assigned ${sid} to you.` : `${actor} commented on ${sid}:`;
  const subject = oneLine(`[${n.project_slug}] ${n.type === 'assigned' ? `${sid} assigned to you` : `New comment on ${sid}`}: ${title}`, 200);
  const rows: [string, string][] = [['Project', n.project_name], ['Issue', sid], ['Title', title], ['Culprit', n.culprit || '-'], ['Level', n.level ?? '-'],
    ['Events', String(n.event_count ?? 0)], ['Status', n.status ?? '-']];
  // a participant can leave the issue's comment e-mail; an assignment or a mention reaches them anyway
  const participant = n.reason !== 'assigned' && n.reason !== 'mentioned';
  const footer = `You get this e-mail because ${WHY[n.reason]}. ${participant ? 'Unsubscribe from this issue on its page, or turn' : 'Turn'} e-mail about issues off on your Profile page: ${config.publicUrl}/profile`;
  const comment = n.type === 'note' ? n.text ?? '' : null;
  const text = [
    what,
    ...(comment === null ? [] : ['', ...comment.split(/\r?\n/).map((l) => `> ${l}`)]),
    '',
    ...rows.map(([k, v]) => `${k}: ${v}`),
    '',
    `Open: ${url}`,
    '',
    '-- ',
    `crash-cache. ${footer}`,
  ].join('\n');
  const cells = rows.map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p style="font-size:16px;margin:0 0 8px">${escapeHtml(what)}</p>
${comment === null ? '' : `<blockquote style="margin:0 0 12px;padding:4px 12px;border-left:3px solid #ccc;white-space:pre-wrap">${escapeHtml(comment)}</blockquote>`}
<table>${cells}</table>
<p><a href="${escapeHtml(url)}">Open ${escapeHtml(sid)} in crash-cache</a></p>
<p style="color:#888;font-size:12px">crash-cache. ${escapeHtml(footer)}</p>
</body></html>`;
  return { subject, text, html };
}

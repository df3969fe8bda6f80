import { escapeSlack, oneLine, summaryLine, type AlertMessage } from './payload.js';

// The bodies of Slack, Discord and Microsoft Teams incoming webhooks, each escaped for its own markup:
// nothing from an event (title, culprit, project name) can mention, link or format in the channel.
//   Slack       incoming webhook, Block Kit (https://api.slack.com/reference/block-kit/blocks): header
//               plain_text ≤ 150 characters, section mrkdwn ≤ 3000, ≤ 10 fields of ≤ 2000; `text` is the
//               notification fallback. mrkdwn escapes &, <, > (Mattermost reads the same).
//   Discord     webhook with one embed (https://discord.com/developers/docs/resources/message#embed-object):
//               title ≤ 256, description ≤ 4096, ≤ 25 fields (name ≤ 256, value ≤ 1024); markdown
//               characters backslash-escaped and allowed_mentions.parse empty (no @everyone, roles, users).
//   Teams       Workflows webhook ("Post to a channel when a webhook request is received"): a message with
//               one Adaptive Card 1.4 attachment (TextBlock, FactSet, Action.OpenUrl); TextBlock markdown
//               escaped; Teams mentions need explicit entities, so none can be made.

function facts(m: AlertMessage): [string, string][] {
  if (m.monitor) return [['Project', m.project.name], ['Monitor', m.monitor.slug], ['Environment', m.monitor.environment]];
  if (!m.issue) return [['Project', m.project.name]];
  const i = m.issue;
  return [
    ['Project', m.project.name], ['Issue', i.short_id], ['Level', i.level], ['Events', String(i.count)], ['Users', String(i.user_count)],
    ['First seen', i.first_seen], ['Last seen', i.last_seen], ['Status', i.substatus ? `${i.status} (${i.substatus})` : i.status],
  ];
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

export function slackBody(m: AlertMessage): Record<string, unknown> {
  const title = m.issue ? `${m.headline}: ${m.issue.short_id}` : m.headline;
  const desc = m.issue ? `*${escapeSlack(oneLine(m.issue.title, 1000))}*${m.issue.culprit ? `\n\`${escapeSlack(oneLine(m.issue.culprit, 500)).replace(/`/g, "'")}\`` : ''}` : m.monitor ? escapeSlack(oneLine(m.headline, 1000)) : `crash-cache can post to this channel.`;
  return {
    text: escapeSlack(summaryLine(m)),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(oneLine(title), 150), emoji: false } },
      { type: 'section', text: { type: 'mrkdwn', text: clip(desc, 3000) } },
      { type: 'section', fields: facts(m).slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${escapeSlack(oneLine(v, 300))}`, 2000) })) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: clip(escapeSlack(oneLine(m.why, 1000)), 3000) }] },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in crash-cache' }, url: m.url }] },
    ],
  };
}

/** Discord markdown: every formatting character backslash-escaped; @ followed by a zero-width space (belt and braces with allowed_mentions). */
export function escapeDiscord(s: string): string {
  return s.replace(/[\\*_~`|>#\-[\]()<:]/g, (c) => `\\${c}`).replace(/@/g, '@\u200b');
}

const LEVEL_COLOR: Record<string, number> = { fatal: 0x8b0000, error: 0xe03e2f, warning: 0xf2b713, info: 0x2f80ed, debug: 0x888888 };

export function discordBody(m: AlertMessage): Record<string, unknown> {
  const title = m.issue ? `${m.headline} ${m.issue.short_id}: ${oneLine(m.issue.title)}` : m.headline;
  const description = m.issue ? `${m.issue.culprit ? `${escapeDiscord(oneLine(m.issue.culprit, 1000))}\n` : ''}${escapeDiscord(oneLine(m.why, 1000))}` : escapeDiscord(m.why);
  return {
    username: 'crash-cache',
    allowed_mentions: { parse: [] },
    embeds: [{
      title: clip(escapeDiscord(oneLine(title, 240)), 256),
      url: m.url,
      description: clip(description, 4096),
      color: LEVEL_COLOR[m.issue?.level ?? 'info'] ?? LEVEL_COLOR.info,
      fields: facts(m).slice(0, 25).map(([k, v]) => ({ name: k, value: clip(escapeDiscord(oneLine(v, 300)), 1024), inline: true })),
      footer: { text: clip(`crash-cache · ${oneLine(m.project.slug, 100)}`, 2048) },
      timestamp: m.issue?.last_seen ?? new Date().toISOString(),
    }],
  };
}

/** Adaptive Card TextBlock markdown: formatting characters backslash-escaped. */
export function escapeTeams(s: string): string {
  return s.replace(/[\\*_~`>#\-[\]()<]/g, (c) => `\\${c}`);
}

export function teamsBody(m: AlertMessage): Record<string, unknown> {
  const title = m.issue ? `${m.headline} ${m.issue.short_id}: ${oneLine(m.issue.title, 500)}` : m.headline;
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: escapeTeams(title), weight: 'Bolder', size: 'Medium', wrap: true },
  ];
  if (m.issue?.culprit) body.push({ type: 'TextBlock', text: escapeTeams(oneLine(m.issue.culprit, 500)), isSubtle: true, wrap: true });
  body.push({ type: 'TextBlock', text: escapeTeams(oneLine(m.why, 1000)), wrap: true });
  // FactSet values are plain text in Adaptive Cards 1.4, titles too
  body.push({ type: 'FactSet', facts: facts(m).map(([title, value]) => ({ title, value: oneLine(value, 300) })) });
  return {
    type: 'message',
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      contentUrl: null,
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        body,
        actions: [{ type: 'Action.OpenUrl', title: 'Open in crash-cache', url: m.url }],
      },
    }],
  };
}

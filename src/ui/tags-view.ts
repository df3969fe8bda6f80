import type pg from 'pg';
import { issueTagKeys, issueTagValues, tagLabel, type TagValueRow } from '../api/queries/tags.js';
import { shareBar } from './charts.js';
import { html, type Html } from './html.js';

// Tag distributions of an issue (the API's tag queries): for each key, its most common values and
// their share of the issue's events.

const TOP = 5;

export async function tagDistribution(pool: pg.Pool, issue: { project_id: number; id: number }): Promise<Html> {
  const [keys, values] = await Promise.all([issueTagKeys(pool, issue.project_id, issue.id), issueTagValues(pool, issue.project_id, issue.id, null, TOP)]);
  if (!keys.length) return html`<p class="muted">No tags.</p>`;
  const byKey = new Map<string, TagValueRow[]>();
  for (const v of values) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  return html`<div class="tags">${keys.map((k) => {
    const total = Number(k.total_values);
    return html`<section class="tag"><h3>${tagLabel(k.key)} <span class="muted">(${k.unique_values} value${k.unique_values === 1 ? '' : 's'})</span></h3>${(byKey.get(k.key) ?? []).map((v) => {
      const share = total ? Number(v.count) / total : 0;
      return html`<div class="bar"><span class="mono">${v.value}</span><span>${Math.round(share * 100)}%</span></div>${shareBar(share, 200)}`;
    })}</section>`;
  })}</div>`;
}

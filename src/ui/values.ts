import { html, type Html } from './html.js';

// Reading loosely-shaped event JSON for display. Events arrive from many SDK generations: lists may be
// bare arrays or {values: [...]}, tags a map or a list of pairs, numbers may be strings. Nothing here
// trusts a type; everything ends as text passed to `html` (which escapes it).

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = Record<string, Json>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A list given as an array, as {values: [...]}, or as one object. */
export function listOf(v: unknown): Obj[] {
  const arr = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.values) ? v.values : isObj(v) ? [v] : [];
  return arr.filter(isObj);
}

export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v, null, 2);
}

/** Pairs from a map ({k: v}), a list of [k, v] pairs, or a list of {key, value}. */
export function pairs(v: unknown): [string, unknown][] {
  if (Array.isArray(v)) {
    const out: [string, unknown][] = [];
    for (const p of v) {
      if (Array.isArray(p) && p.length >= 2) out.push([text(p[0]), p[1]]);
      else if (isObj(p) && 'key' in p) out.push([text(p.key), p.value]);
    }
    return out;
  }
  return isObj(v) ? Object.entries(v) : [];
}

/** Seconds (number or numeric string) or an ISO string → Date; null when neither. */
export function toDate(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v > 1e12 ? v : v * 1000);
  if (typeof v === 'string' && v) {
    if (/^\d+(\.\d+)?$/.test(v)) return toDate(Number(v));
    const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + 'Z');
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (v instanceof Date) return v;
  return null;
}

/** A value cell: strings as they are, structures as indented JSON, both in monospace when structured. */
export function valueCell(v: unknown): Html {
  if (v === null || v === undefined) return html`<span class="muted">null</span>`;
  if (typeof v === 'object') return html`<pre>${text(v)}</pre>`;
  if (v === '[Filtered]') return html`<span class="filtered" title="Removed by data scrubbing">[Filtered]</span>`;
  return html`${text(v)}`;
}

export function kvTable(rows: [string, unknown][]): Html {
  if (!rows.length) return html`<p class="muted">None.</p>`;
  return html`<table class="kv"><tbody>${rows.map(([k, v]) => html`<tr><td>${k}</td><td>${valueCell(v)}</td></tr>`)}</tbody></table>`;
}

export function isoTime(d: Date | null | undefined): string {
  return d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC') : '';
}

/** "3 min ago", "2 h ago", "5 d ago": short, for tables; the full time goes in the title attribute. */
export function ago(d: Date | null | undefined, now = Date.now()): string {
  if (!d) return '';
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 60) return `${Math.floor(s / 86400)} d ago`;
  return d.toISOString().slice(0, 10);
}

export function timeEl(d: Date | null | undefined): Html {
  if (!d) return html`<span class="muted">—</span>`;
  return html`<time datetime="${d.toISOString()}" title="${isoTime(d)}">${ago(d)}</time>`;
}

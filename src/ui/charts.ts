import { html, type Html } from './html.js';

// Small inline SVG charts: no script, no inline style (the CSP forbids both); colours come from the
// stylesheet. Sizes are SVG attributes, which the CSP does not restrict.

/** Bars of counts over equal time buckets, oldest left. */
export function sparkline(counts: number[], opts: { width?: number; height?: number; label?: string } = {}): Html {
  const w = opts.width ?? 120;
  const h = opts.height ?? 24;
  const n = Math.max(counts.length, 1);
  const max = Math.max(1, ...counts);
  const bw = w / n;
  const total = counts.reduce((a, b) => a + b, 0);
  const label = opts.label ?? `${total} events`;
  return html`<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${label}"><title>${label}</title>${counts.map((c, i) => {
    const bh = c > 0 ? Math.max(1.5, (c / max) * h) : 0;
    return bh ? html`<rect x="${(i * bw + 0.5).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${bh.toFixed(1)}"></rect>` : '';
  })}</svg>`;
}

/** A horizontal share bar (0..1). */
export function shareBar(fraction: number, width = 160): Html {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return html`<svg class="spark" width="${width}" height="6" viewBox="0 0 ${width} 6" aria-hidden="true"><rect x="0" y="0" width="${(f * width).toFixed(1)}" height="6"></rect></svg>`;
}

/** A line of percentages (0..100) over time, with the last value printed. */
export function percentLine(points: (number | null)[], opts: { width?: number; height?: number; label?: string } = {}): Html {
  const w = opts.width ?? 240;
  const h = opts.height ?? 40;
  const n = points.length;
  if (!n || points.every((p) => p === null)) return html`<span class="muted">no sessions</span>`;
  const xy = points
    .map((p, i) => (p === null ? null : [n === 1 ? w / 2 : (i / (n - 1)) * w, h - (p / 100) * (h - 2) - 1] as const))
    .filter((p): p is readonly [number, number] => p !== null);
  const d = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ');
  return html`<svg class="spark line" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${opts.label ?? 'crash-free over time'}"><title>${opts.label ?? ''}</title><path d="${d}"></path>${xy.map(([x, y]) => html`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.5"></circle>`)}</svg>`;
}

// The one way markup is built: the `html` template tag escapes every interpolated value unless it is
// itself an Html (built by this tag, or `trusted()` for our own constant markup). Everything in an
// event — message, frames, tags, breadcrumbs, request, user — is attacker-controlled text, so no page
// ever concatenates strings into markup; it interpolates into `html` and the escaping happens here.

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Renderable = Html | string | number | bigint | boolean | null | undefined | readonly Renderable[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an HTML text node or a double- or single-quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function render(v: Renderable): string {
  if (v instanceof Html) return v.text;
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** Template tag: static parts are trusted (they are our source), every `${value}` is escaped. */
export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Marks a constant string of our own as markup. Never pass it anything derived from a request or event. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** Joins fragments (each escaped unless already Html). */
export function join(parts: readonly Renderable[], sep: Renderable = ''): Html {
  const s = render(sep);
  return new Html(parts.map(render).join(s));
}

/** Builds a query string for links; values are URL-encoded here and the whole is escaped by `html`. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

import type pg from 'pg';
import type { Json, NormalizedEvent } from '../protocol/event.js';
import { normalizeDebugId } from './bundle.js';
import { ParsedCache, parseMap, type Parsed } from './cache.js';
import { filesByDebugId, filesByUrl, readBlobs, releaseHasBundles, touchBundles, type FileRow } from './store.js';
import { applySourceMaps, lineStarts, needsSymbolication, resolveSourceUrl, type FileOutcome, type MinifiedText, type Needs } from './symbolicate.js';

// Finding the maps of a batch of JavaScript events, as Sentry does: a frame's file by its debug id
// (debug_meta.images of type sourcemap, injected by `sentry-cli sourcemaps inject`), else by the
// event's release + dist and the file's URL ('~/' + path). One query per kind of lookup for the whole
// batch, not per event, and one for the contents not already parsed in the cache; a project without
// any bundle costs one index probe per batch. Used by the digest (before grouping) and by loadEvent
// (on read, so an event that came before its map is shown symbolicated once the map is there).

type Db = pg.Pool | pg.ClientBase;

/** Sentry's candidate URLs of a frame's abs_path: as sent, without query, and '~' + path. */
export function urlCandidates(absPath: string): string[] {
  const out = [absPath];
  // plain indexOf: event data is untrusted, and this needs no pattern at all
  const noQuery = cutAt(absPath, '?#');
  if (noQuery !== absPath) out.push(noQuery);
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/[^#]*)?/i.exec(absPath);
  const path = m ? m[1] ?? '/' : absPath.startsWith('/') ? cutAt(absPath, '#') : null;
  if (path) {
    out.push('~' + path);
    const p = cutAt(path, '?');
    if (p !== path) out.push('~' + p);
  }
  return out;
}

/** `s` up to the first of `chars`. */
export function cutAt(s: string, chars: string): string {
  let end = s.length;
  for (const c of chars) {
    const i = s.indexOf(c);
    if (i >= 0 && i < end) end = i;
  }
  return s.slice(0, end);
}

interface Work {
  projectId: number;
  ev: NormalizedEvent;
  needs: Needs;
}

export class Symbolicator {
  private readonly cache: ParsedCache;

  constructor(cacheBytes: number) {
    this.cache = new ParsedCache(cacheBytes);
  }

  /** Symbolicates these events in place (the ones that are not JavaScript cost a property check). */
  async symbolicate(db: Db, events: { projectId: number; ev: NormalizedEvent }[]): Promise<void> {
    const work: Work[] = [];
    for (const e of events) {
      const needs = needsSymbolication(e.ev);
      if (needs) work.push({ ...e, needs });
    }
    const byProject = new Map<number, Work[]>();
    for (const w of work) byProject.set(w.projectId, [...(byProject.get(w.projectId) ?? []), w]);
    for (const [projectId, list] of byProject) await this.project(db, projectId, list);
  }

  /**
   * Whether the project (or the organization, migrations/0042) has any bundle: asked on every batch, not
   * remembered, so the first upload of a project is used by the next batch. (It was believed for 5 s once:
   * an event sent right after a project's first upload was then grouped by its minified frames.)
   */
  private async hasBundles(db: Db, projectId: number): Promise<boolean> {
    // two EXISTS, each one probe of a partial index (state = 'ok'), rather than an OR the planner may scan for
    const { rows } = await db.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM artifact_bundle WHERE project_id = $1 AND state = 'ok')
           OR EXISTS (SELECT 1 FROM artifact_bundle WHERE project_id IS NULL AND state = 'ok') AS any`, [projectId]);
    return rows[0]!.any;
  }

  private async project(db: Db, projectId: number, list: Work[]): Promise<void> {
    const any = await this.hasBundles(db, projectId);
    // debug ids
    const debugIds = new Set<string>();
    for (const w of list) for (const f of w.needs.files) {
      const id = normalizeDebugId(w.needs.debugIds.get(f));
      if (id) debugIds.add(id);
    }
    const byDebugId = new Map<string, { map?: FileRow; minified?: FileRow }>();
    if (any && debugIds.size) {
      for (const r of await filesByDebugId(db, projectId, [...debugIds])) {
        const e = byDebugId.get(r.debug_id!) ?? {};
        if (r.kind === 'source_map') e.map ??= r;
        else if (r.kind === 'minified_source') e.minified ??= r;
        byDebugId.set(r.debug_id!, e);
      }
    }
    // release + dist + url, for the files without a debug id
    const releases = new Map<string, { release: string; dist: string; urls: Set<string> }>();
    if (any) {
      for (const w of list) for (const f of w.needs.files) {
        if (w.needs.debugIds.has(f) || !w.needs.release) continue;
        const k = `${w.needs.release}\u0000${w.needs.dist}`;
        const g = releases.get(k) ?? { release: w.needs.release, dist: w.needs.dist, urls: new Set() };
        for (const c of urlCandidates(f)) g.urls.add(c), g.urls.add(c + '.map');
        releases.set(k, g);
      }
    }
    const byUrl = new Map<string, { rows: Map<string, FileRow>; has: boolean }>();
    for (const [k, g] of releases) {
      const rows = new Map<string, FileRow>();
      for (const r of await filesByUrl(db, projectId, g.release, g.dist, [...g.urls])) if (!rows.has(r.url)) rows.set(r.url, r);
      // Maps named by a minified file's Sourcemap header that the first query did not fetch.
      const more = [...rows.values()].filter((r) => r.kind !== 'source_map' && r.sourcemap).map((r) => resolveSourceUrl(r.url, r.sourcemap!)).filter((u) => !rows.has(u));
      if (more.length) for (const r of await filesByUrl(db, projectId, g.release, g.dist, more)) if (!rows.has(r.url)) rows.set(r.url, r);
      byUrl.set(k, { rows, has: rows.size > 0 || (await releaseHasBundles(db, projectId, g.release, g.dist)) });
    }

    // Per event and file: which rows (map, minified) or which error.
    type Pick = { map: FileRow; minified: FileRow | null; mapUrl: string; via: 'debug-id' | 'release' } | { error: Json } | null;
    const pick = (w: Work, file: string): Pick => {
      const rawId = w.needs.debugIds.get(file);
      if (rawId !== undefined) {
        const id = normalizeDebugId(rawId);
        const e = id ? byDebugId.get(id) : undefined;
        if (!e?.map) return { error: { type: 'js_no_source', url: file, debug_id: rawId, reason: 'no uploaded source map has this debug id' } };
        return { map: e.map, minified: e.minified ?? null, mapUrl: e.map.url, via: 'debug-id' };
      }
      if (!w.needs.release) return null;
      const g = byUrl.get(`${w.needs.release}\u0000${w.needs.dist}`);
      if (!g) return null;
      for (const c of urlCandidates(file)) {
        const min = g.rows.get(c);
        if (min && min.kind !== 'source_map') {
          const mapUrl = min.sourcemap ? resolveSourceUrl(min.url, min.sourcemap) : c + '.map';
          const map = g.rows.get(mapUrl) ?? g.rows.get(c + '.map');
          if (!map) return { error: { type: 'js_no_source', url: mapUrl, reason: `no source map uploaded for ${min.url} in release ${w.needs.release}` } };
          return { map, minified: min, mapUrl: map.url, via: 'release' };
        }
        const map = g.rows.get(c + '.map');
        if (map && map.kind === 'source_map') return { map, minified: null, mapUrl: map.url, via: 'release' };
      }
      // Only worth an error when the release has uploads at all (else the project simply uses none),
      // and for the app's own files (a Node app does not upload node_modules).
      return g.has && w.needs.expected.has(file) ? { error: { type: 'js_no_source', url: file, reason: `no file with this URL was uploaded for release ${w.needs.release}` } } : null;
    };
    const picks = list.map((w) => new Map(w.needs.files.map((f) => [f, pick(w, f)] as const)));

    // Contents: parse what the cache lacks (one query for all of them).
    const wanted = new Map<string, 'map' | 'text'>();
    for (const m of picks) for (const p of m.values()) {
      if (!p || 'error' in p) continue;
      wanted.set(p.map.blob_sha1.toString('hex'), 'map');
      if (p.minified) wanted.set(p.minified.blob_sha1.toString('hex'), 'text');
    }
    const parsed = new Map<string, Parsed>();
    const lacking: Buffer[] = [];
    for (const [sha, kind] of wanted) {
      const hit = this.cache.get(sha);
      if (hit && (hit.kind === kind || hit.kind === 'bad')) parsed.set(sha, hit);
      else lacking.push(Buffer.from(sha, 'hex'));
    }
    if (lacking.length) {
      for (const [sha, data] of await readBlobs(db, lacking)) {
        const p: Parsed = wanted.get(sha) === 'map' ? parseMap(data) : { kind: 'text', text: data.toString('utf8') };
        parsed.set(sha, p);
        this.cache.put(sha, p, data.length);
      }
    }

    const used = new Set<string>();
    list.forEach((w, i) => {
      const outcomes = new Map<string, FileOutcome>();
      for (const [file, p] of picks[i]!) {
        if (!p) continue;
        if ('error' in p) {
          outcomes.set(file, p);
          continue;
        }
        const m = parsed.get(p.map.blob_sha1.toString('hex'));
        if (m?.kind !== 'map') {
          outcomes.set(file, { error: { type: 'js_invalid_source', url: p.mapUrl, reason: m?.kind === 'bad' ? `the source map cannot be parsed: ${m.reason}` : 'the source map is gone' } });
          continue;
        }
        const t = p.minified ? parsed.get(p.minified.blob_sha1.toString('hex')) : undefined;
        const minified: MinifiedText | null = t?.kind === 'text' ? textWithLines(t) : null;
        outcomes.set(file, { ok: { map: m.map, mapUrl: p.mapUrl, minified, resolvedWith: p.via } });
        used.add(p.map.bundle_id);
      }
      if (outcomes.size) applySourceMaps(w.ev, outcomes);
    });
    await touchBundles(db, [...used]);
  }
}

const starts = new WeakMap<object, number[]>();
function textWithLines(t: { kind: 'text'; text: string }): MinifiedText {
  let s = starts.get(t);
  if (!s) starts.set(t, (s = lineStarts(t.text)));
  return { text: t.text, lineStarts: s };
}

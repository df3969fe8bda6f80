import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type pg from 'pg';
import type { Bundle } from '../src/sourcemaps/bundle.js';
import { claimBundle, storeBundle } from '../src/sourcemaps/store.js';
import { transaction } from '../src/storage/transaction.js';

// The JS-heavy digest mix (`--digest-mix js`): a minified bundle of 40 functions built by esbuild with
// its source map, stored for the bench project as one uploaded artifact bundle (release bench-js@1, debug
// id on both files), and two event fixtures whose frames are minified positions in it: one found by
// debug id (debug_meta, as SDKs send after `sentry-cli sourcemaps inject`), one by release + URL. Each
// event has 12 frames, 6 of them in the bundle. workload.ts sends them as browser envelopes beside the
// usual mix (3 JS events to 1 of the mix); the digest then symbolicates every one before grouping, its
// parsed-map cache warm after the first batch of each thread.

const SITE = 'https://shop.example.com/static/app.min.js';
const DEBUG_ID = '5b1c6f3e-2d4a-4e8f-9a7b-0c1d2e3f4a5b';
export const JS_RELEASE = 'bench-js@1';

export interface JsMix {
  /** absolute paths of the two event fixtures (workload.ts `jsFixtures`) */
  fixtures: string[];
  bundle: Bundle;
}

export async function prepareJsMix(): Promise<JsMix> {
  const source = Array.from({ length: 40 }, (_, i) => `function step${i}(x) {\n  if (x > ${i * 7}) {\n    return step${(i + 1) % 40}(x - 1) + ${i};\n  }\n  throw new TypeError('failed at step ${i}: ' + x);\n}`).join('\n') +
    '\nexport function run(x) {\n  return step0(x);\n}\n';
  const out = await build({ stdin: { contents: source, sourcefile: 'src/steps.js' }, bundle: true, minify: true, sourcemap: 'external', write: false, outfile: 'app.min.js', format: 'iife', globalName: 'shop' });
  const code = out.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const map = out.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
  // minified positions: each `throw`, and the minified name of the function it is in
  const throws = [...code.matchAll(/throw /g)].map((m) => m.index!);
  const nameAt = (i: number) => /function (\w+)\(/.exec(code.slice(code.lastIndexOf('function ', i)))?.[1] ?? 'n';
  const frames = Array.from({ length: 12 }, (_, i) => {
    if (i % 2) return { abs_path: `https://shop.example.com/node_modules/lib${i}.js`, filename: `/node_modules/lib${i}.js`, function: `lib${i}`, lineno: 10 + i, colno: 5, in_app: false };
    const at = throws[(i * 7) % throws.length]!;
    return { abs_path: SITE, filename: '/static/app.min.js', function: nameAt(at), lineno: 1, colno: at + 1, in_app: true };
  });
  const event = (withDebugId: boolean) => ({
    platform: 'javascript',
    release: JS_RELEASE,
    level: 'error',
    sdk: { name: 'sentry.javascript.browser', version: '11.12.0' },
    request: { url: 'https://shop.example.com/checkout', headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36' } },
    ...(withDebugId ? { debug_meta: { images: [{ type: 'sourcemap', code_file: SITE, debug_id: DEBUG_ID }] } } : {}),
    exception: { values: [{ type: 'TypeError', value: 'failed at step 3: 2', mechanism: { type: 'onerror', handled: false }, stacktrace: { frames } }] },
  });
  const dir = mkdtempSync(join(tmpdir(), 'crash-cache-bench-js-'));
  const fixtures = [join(dir, 'js_minified_debug_id.json'), join(dir, 'js_minified_release_url.json')];
  writeFileSync(fixtures[0]!, JSON.stringify(event(true)));
  writeFileSync(fixtures[1]!, JSON.stringify(event(false)));
  const file = (path: string, kind: string, data: string, sourcemap: string | null) => {
    const buf = Buffer.from(data);
    return { path, kind, url: `~/static/${path}`, debugId: DEBUG_ID, sourcemap, sha1: createHash('sha1').update(buf).digest(), data: buf };
  };
  const files = [file('app.min.js', 'minified_source', code, 'app.min.js.map'), file('app.min.js.map', 'source_map', map, null)];
  return { fixtures, bundle: { files, size: code.length + map.length } };
}

/** Stores the bundle for the project as assemble does (claim, then store in one transaction). */
export async function uploadJsBundle(pool: pg.Pool, projectId: number, bundle: Bundle): Promise<void> {
  const sha1 = createHash('sha1').update(bundle.files.map((f) => f.sha1.toString('hex')).join()).digest();
  if (!(await claimBundle(pool, projectId, sha1, JS_RELEASE, '', 60))) throw new Error('the bench bundle is already there');
  const why = await transaction(pool, (c) => storeBundle(c, projectId, sha1, bundle, [], Number.MAX_SAFE_INTEGER));
  if (why) throw new Error(why);
}

import { createHash } from 'node:crypto';
import yauzl from 'yauzl';

// Reads an artifact bundle as `sentry-cli sourcemaps upload` builds it (symbolic's SourceBundleWriter):
// a zip holding `manifest.json` — {"files": {"<path in zip>": {"type", "url", "headers"}}, …} — and the
// files it names. yauzl reads the central directory and checks every entry's sizes against what it
// inflates, so a zip that lies about sizes fails instead of growing; we refuse before inflating
// anything when the declared sizes already pass the limit.

export class BundleError extends Error {}

export const FILE_KINDS = new Set(['minified_source', 'source_map', 'source', 'indexed_ram_bundle']);

export interface BundleFile {
  path: string;
  kind: string;
  url: string;
  debugId: string | null;
  /** The "Sourcemap" header: where the map of a minified file is, relative to its url. */
  sourcemap: string | null;
  sha1: Buffer;
  data: Buffer;
}

export interface Bundle {
  files: BundleFile[];
  /** Unzipped bytes of the files. */
  size: number;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A debug id as stored (lowercase, dashed uuid), or null. Sentry's debug ids may carry an appendix ("-0"): dropped. */
export function normalizeDebugId(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim().toLowerCase().slice(0, 36);
  if (!UUID.test(s)) return null;
  const h = s.replace(/-/g, '');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function open(zip: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true }, (e, z) => (e ? reject(e) : resolve(z!))));
}

function readEntry(z: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    z.openReadStream(entry, (e, s) => {
      if (e) return reject(e);
      const parts: Buffer[] = [];
      s!.on('data', (c: Buffer) => parts.push(c));
      s!.on('error', reject);
      s!.on('end', () => resolve(Buffer.concat(parts)));
    }));
}

/** Unpacks and checks a bundle; every problem is a BundleError naming it. */
export async function readBundle(zip: Buffer, maxBytes: number): Promise<Bundle> {
  let z: yauzl.ZipFile;
  try {
    z = await open(zip);
  } catch (e) {
    throw new BundleError(`the bundle is not a valid zip file: ${(e as Error).message}`);
  }
  const entries = new Map<string, yauzl.Entry>();
  let declared = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      z.on('entry', (e: yauzl.Entry) => {
        if (!e.fileName.endsWith('/')) {
          entries.set(e.fileName, e);
          declared += e.uncompressedSize;
        }
        z.readEntry();
      });
      z.on('end', resolve);
      z.on('error', reject);
      z.readEntry();
    });
    if (declared > maxBytes) throw new BundleError(`the bundle unzips to ${declared} bytes, over SOURCEMAP_MAX_BUNDLE_BYTES (${maxBytes})`);
    const me = entries.get('manifest.json');
    if (!me) throw new BundleError('the bundle has no manifest.json');
    let manifest: unknown;
    try {
      manifest = JSON.parse((await readEntry(z, me)).toString('utf8'));
    } catch (e) {
      if (e instanceof SyntaxError) throw new BundleError('the bundle manifest.json is not valid JSON');
      throw e;
    }
    const listed = (manifest as { files?: unknown } | null)?.files;
    if (!listed || typeof listed !== 'object' || Array.isArray(listed)) throw new BundleError('the bundle manifest.json has no "files" object');
    const files: BundleFile[] = [];
    let size = 0;
    for (const [path, info] of Object.entries(listed as Record<string, unknown>)) {
      const entry = entries.get(path);
      if (!entry || path === 'manifest.json') throw new BundleError(`the bundle manifest names ${JSON.stringify(path.slice(0, 200))}, which is not a file in the bundle`);
      const i = (info ?? {}) as { type?: unknown; url?: unknown; headers?: unknown };
      const kind = typeof i.type === 'string' ? i.type : '';
      if (!FILE_KINDS.has(kind)) throw new BundleError(`the bundle manifest gives ${JSON.stringify(path.slice(0, 200))} the unknown type ${JSON.stringify(String(i.type).slice(0, 50))}`);
      if (typeof i.url !== 'string' || !i.url) throw new BundleError(`the bundle manifest gives ${JSON.stringify(path.slice(0, 200))} no url`);
      const headers = new Map<string, string>();
      if (i.headers && typeof i.headers === 'object') {
        for (const [k, v] of Object.entries(i.headers)) if (typeof v === 'string') headers.set(k.toLowerCase(), v);
      }
      const data = await readEntry(z, entry);
      size += data.length;
      files.push({
        path,
        kind,
        url: i.url,
        debugId: normalizeDebugId(headers.get('debug-id') ?? headers.get('debug_id')),
        sourcemap: headers.get('sourcemap') ?? headers.get('x-sourcemap') ?? null,
        sha1: createHash('sha1').update(data).digest(),
        data,
      });
    }
    return { files, size };
  } catch (e) {
    if (e instanceof BundleError) throw e;
    // yauzl's own findings: a bad entry, sizes that do not match, corrupt deflate data
    throw new BundleError(`the bundle is not a valid zip file: ${(e as Error).message}`);
  } finally {
    z.close();
  }
}

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { ApiHandler } from '../api/routes.js';
import { requireOrg, requireProject } from '../api/lookup.js';
import type { Principal } from '../auth/principal.js';
import { parseMultipart } from '../digest/multipart.js';
import { transaction } from '../storage/transaction.js';
import { normalizeDebugId } from './bundle.js';
import { cutAt } from './resolve.js';
import { listReleaseFiles, storeReleaseFile, type Owner, type ReleaseFileRow } from './store.js';

// The release-file flow that came before artifact bundles (sentry-cli 1.x, and `releases files upload`
// of older tools): POST projects/{org}/{project}/releases/{version}/files/ with one file per request
// (multipart: file, name, dist, header "Key:Value"…), GET to list them. Each file is stored as a bundle of
// its own (store.ts), so symbolication finds it by release + dist + URL like any other.
// The same at organizations/{org}/releases/{version}/files/ (sentry-cli 1.x's release uploads without a
// project; 2.30 and later refuse to upload without one): the file belongs to no project and is found for
// the events of every project with that release.

type H = ApiHandler;

function serialize(r: ReleaseFileRow) {
  const headers: Record<string, string> = {};
  if (r.sourcemap) headers.Sourcemap = r.sourcemap;
  if (r.debug_id) headers['debug-id'] = r.debug_id;
  return { id: r.id, name: r.url, dist: r.dist || null, headers, size: Number(r.size), sha1: r.sha1.toString('hex'), dateCreated: r.created_at.toISOString() };
}

/**
 * Sentry's filters of the list: `checksum` (exact sha1s: sentry-cli asks which of its files are there
 * before uploading) and `query` (parts of names), each repeatable.
 */
function filtered(rows: ReleaseFileRow[], url: URL): ReleaseFileRow[] {
  const sums = new Set(url.searchParams.getAll('checksum').map((c) => c.toLowerCase()));
  const parts = url.searchParams.getAll('query').filter(Boolean);
  return rows.filter((r) => (!sums.size || sums.has(r.sha1.toString('hex'))) && (!parts.length || parts.some((q) => r.url.includes(q))));
}

export const listFiles: H = async (ctx, _req, res, params, url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  sendJson(res, 200, filtered(await listReleaseFiles(ctx.db.pool, p.id, params.version!), url).map(serialize));
};

export const listOrgFiles: H = async (ctx, _req, res, params, url) => {
  requireOrg(ctx.config, params.org!);
  sendJson(res, 200, filtered(await listReleaseFiles(ctx.db.pool, null, params.version!), url).map(serialize));
};

/**
 * A file of the organization changes how every project's frames read, so only a principal of every
 * project may post one (a member limited to some projects posts to those projects' own endpoint).
 */
function requireEveryProject(who: Principal): void {
  if (who.projectIds !== null) {
    throw new HttpError('forbidden', 'You do not have permission to perform this action: an organization release file is used by every project, and you are a member of only some; upload to projects/{org}/{project}/releases/{version}/files/');
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new HttpError('payload_too_large', `a release file is limited to SOURCEMAP_MAX_BUNDLE_BYTES (${max} bytes)`);
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

export const uploadFile: H = async (ctx, req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  await store(ctx, req, res, p.id, params.version!);
};

export const uploadOrgFile: H = async (ctx, req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  requireEveryProject(who);
  await store(ctx, req, res, null, params.version!);
};

async function store(ctx: AppContext, req: IncomingMessage, res: ServerResponse, owner: Owner, release: string): Promise<void> {
  const body = await readBody(req, ctx.config.sourcemapMaxBundleBytes + 64 * 1024);
  const ct = req.headers['content-type'] ?? '';
  const parts = /^multipart\/form-data/i.test(ct) ? parseMultipart(body, ct) : null;
  if (!parts) throw new HttpError('invalid_request', 'a release file is uploaded as multipart/form-data with a "file" part');
  const file = parts.find((x) => x.name === 'file');
  if (!file) throw new HttpError('invalid_request', 'missing the "file" part');
  if (file.data.length > ctx.config.sourcemapMaxBundleBytes) throw new HttpError('payload_too_large', `a release file is limited to SOURCEMAP_MAX_BUNDLE_BYTES (${ctx.config.sourcemapMaxBundleBytes} bytes)`);
  const field = (n: string) => parts.find((x) => x.name === n && x.filename === null)?.data.toString('utf8');
  const name = field('name') || file.filename || '';
  if (!name || name.length > 1000) throw new HttpError('invalid_request', 'the file needs a name (the URL it is served at, such as ~/static/app.min.js) of at most 1000 characters');
  const dist = field('dist') ?? '';
  const headers = new Map<string, string>();
  for (const h of parts.filter((x) => x.name === 'header' && x.filename === null)) {
    const t = h.data.toString('utf8');
    const i = t.indexOf(':');
    if (i <= 0) throw new HttpError('invalid_request', `header ${JSON.stringify(t.slice(0, 100))} is not "Name: value"`);
    headers.set(t.slice(0, i).trim().toLowerCase(), t.slice(i + 1).trim());
  }
  // A map is named *.map (sentry-cli's rule) or says it is one.
  const head = file.data.subarray(0, 200).toString('utf8');
  const kind = /\.map$/i.test(cutAt(name, '?#')) || /^\s*\{\s*"(version|mappings|sources)"/.test(head) ? 'source_map' : 'minified_source';
  const key = createHash('sha1').update(`release-file\u0000${release}\u0000${dist}\u0000${name}`).digest();
  const bundle = {
    size: file.data.length,
    files: [{ path: name, kind, url: name, debugId: normalizeDebugId(headers.get('debug-id')), sourcemap: headers.get('sourcemap') ?? headers.get('x-sourcemap') ?? null, sha1: createHash('sha1').update(file.data).digest(), data: file.data }],
  };
  // Thrown inside: the transaction rolls back (no half-stored file is left).
  await transaction(ctx.db.pool, async (c) => {
    const r = await storeReleaseFile(c, owner, key, release, dist, bundle, ctx.config.sourcemapMaxProjectBytes);
    if (r === 'conflict') throw new HttpError('conflict', 'A file matching this name already exists for the given release');
    if (r) throw new HttpError('payload_too_large', r);
  });
  const row = (await listReleaseFiles(ctx.db.pool, owner, release)).find((r) => r.url === name && r.dist === dist)!;
  sendJson(res, 201, serialize(row));
};

import { createHash } from 'node:crypto';
import type { IncomingMessage, } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { AppContext } from '../context.js';
import type { ApiHandler } from '../api/routes.js';
import { readJsonBody } from '../api/body.js';
import { requireOrg, requireProject } from '../api/lookup.js';
import { parseMultipart } from '../digest/multipart.js';
import { assembleBundle } from './assemble.js';
import { insertChunks } from './store.js';

// The upload endpoints of `sentry-cli sourcemaps upload` (and of the bundler plugins, which run it):
//   GET  organizations/{org}/chunk-upload/          how to upload (chunk size, hash, compression, what is accepted)
//   POST organizations/{org}/chunk-upload/          multipart, one part per chunk named by its sha1
//   POST organizations/{org}/artifactbundle/assemble/  {checksum, chunks, projects, version?, dist?}
// sentry-cli asks assemble first (it answers which chunks are missing), uploads those, then polls
// assemble until the state is "ok" or "error" (printing `detail`).

/** Chunks one POST may carry: 4 × SOURCEMAP_CHUNK_BYTES is the request limit (Sentry: 64 chunks, 32 MiB). */
const CHUNKS_PER_REQUEST = 4;
const SHA1_HEX = /^[0-9a-f]{40}$/;

type H = ApiHandler;

/**
 * Where to POST chunks, absolute as Sentry answers (the bundler plugins' uploader refuses a relative
 * URL): PUBLIC_URL's scheme and path, and the host the client reached us at (PUBLIC_URL's host when
 * the request names none). The Host header is the client's own say, so it can only misdirect itself.
 */
function chunkUrl(ctx: AppContext, req: IncomingMessage, org: string): string {
  const base = new URL(ctx.config.publicUrl);
  const host = req.headers.host;
  if (host && /^[A-Za-z0-9.\-:[\]]{1,300}$/.test(host)) base.host = host;
  return `${base.origin}${base.pathname.replace(/\/$/, '')}/api/0/organizations/${encodeURIComponent(org)}/chunk-upload/`;
}

export const chunkUploadOptions: H = async (ctx, req, res, params) => {
  requireOrg(ctx.config, params.org!);
  const chunk = ctx.config.sourcemapChunkBytes;
  sendJson(res, 200, {
    url: chunkUrl(ctx, req, params.org!),
    chunkSize: chunk,
    chunksPerRequest: CHUNKS_PER_REQUEST,
    maxFileSize: ctx.config.sourcemapMaxBundleBytes,
    maxRequestSize: CHUNKS_PER_REQUEST * chunk,
    concurrency: 4,
    hashAlgorithm: 'sha1',
    compression: ['gzip'],
    // What older sentry-cli (1.x, 2.x) checks before choosing artifact bundles over one release file at a time.
    accept: ['artifact_bundles', 'artifact_bundles_v2'],
    maxWait: 60,
  });
};

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > max) throw new HttpError('payload_too_large', `chunk uploads are limited to ${max} bytes per request (4 × SOURCEMAP_CHUNK_BYTES)`);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new HttpError('payload_too_large', `chunk uploads are limited to ${max} bytes per request (4 × SOURCEMAP_CHUNK_BYTES)`);
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

export const chunkUpload: H = async (ctx, req, res, params) => {
  requireOrg(ctx.config, params.org!);
  const chunkMax = ctx.config.sourcemapChunkBytes;
  const body = await readBody(req, CHUNKS_PER_REQUEST * chunkMax + 64 * 1024);
  const ct = req.headers['content-type'] ?? '';
  const parts = /^multipart\/form-data/i.test(ct) ? parseMultipart(body, ct) : null;
  if (!parts) throw new HttpError('invalid_request', 'chunk uploads must be multipart/form-data with one part per chunk');
  const chunks: { sha1: Buffer; data: Buffer }[] = [];
  for (const p of parts) {
    if (p.name !== 'file' && p.name !== 'file_gzip') continue;
    const name = (p.filename ?? '').toLowerCase();
    if (!SHA1_HEX.test(name)) throw new HttpError('invalid_request', `a chunk's filename must be its sha1 in hex, not ${JSON.stringify(name.slice(0, 60))}`);
    let data = p.data;
    if (p.name === 'file_gzip') {
      try {
        data = gunzipSync(data, { maxOutputLength: chunkMax });
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError('payload_too_large', `chunk ${name} inflates past SOURCEMAP_CHUNK_BYTES (${chunkMax})`);
        throw new HttpError('invalid_request', `chunk ${name} is not valid gzip data`);
      }
    }
    if (data.length > chunkMax) throw new HttpError('payload_too_large', `chunk ${name} has ${data.length} bytes, over SOURCEMAP_CHUNK_BYTES (${chunkMax})`);
    const sha1 = createHash('sha1').update(data).digest();
    // A truncated or altered chunk: its bytes no longer hash to its name.
    if (sha1.toString('hex') !== name) throw new HttpError('invalid_request', `chunk ${name} does not match its checksum (${data.length} bytes hash to ${sha1.toString('hex')}): truncated or corrupted`);
    chunks.push({ sha1, data });
  }
  if (chunks.length > CHUNKS_PER_REQUEST) throw new HttpError('payload_too_large', `at most ${CHUNKS_PER_REQUEST} chunks per request`);
  await insertChunks(ctx.db.pool, chunks);
  sendJson(res, 200, {});
};

function optionalString(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > 250) throw new HttpError('invalid_request', `${what} must be a string of at most 250 characters`);
  return v;
}

export const assemble: H = async (ctx, req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  const b = await readJsonBody(req);
  const checksum = typeof b.checksum === 'string' ? b.checksum.toLowerCase() : '';
  if (!SHA1_HEX.test(checksum)) throw new HttpError('invalid_request', 'checksum must be the sha1 of the bundle in hex');
  if (!Array.isArray(b.chunks) || !b.chunks.every((c) => typeof c === 'string' && SHA1_HEX.test(c.toLowerCase()))) {
    throw new HttpError('invalid_request', 'chunks must be a list of sha1 checksums in hex');
  }
  const maxChunks = Math.ceil(ctx.config.sourcemapMaxBundleBytes / ctx.config.sourcemapChunkBytes);
  if (b.chunks.length > maxChunks) throw new HttpError('payload_too_large', `a bundle of ${b.chunks.length} chunks is over SOURCEMAP_MAX_BUNDLE_BYTES (${ctx.config.sourcemapMaxBundleBytes})`);
  if (!Array.isArray(b.projects) || !b.projects.length || !b.projects.every((p) => typeof p === 'string')) {
    throw new HttpError('invalid_request', 'projects must be a non-empty list of project slugs');
  }
  const release = optionalString(b.version, 'version');
  const dist = optionalString(b.dist, 'dist');
  const projects = [];
  for (const slug of new Set(b.projects as string[])) projects.push(await requireProject(ctx.db.pool, ctx.config, params.org!, slug, who));
  const out = await assembleBundle(ctx.db.pool, ctx.config, projects.map((p) => p.id), {
    checksum: Buffer.from(checksum, 'hex'),
    chunks: (b.chunks as string[]).map((c) => Buffer.from(c.toLowerCase(), 'hex')),
    release,
    dist,
  });
  sendJson(res, 200, out);
};

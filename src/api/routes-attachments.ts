import { createHash } from 'node:crypto';
import { listAttachments, loadAttachment } from '../digest/attachments.js';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { ApiHandler } from './routes.js';
import { requireProject } from './lookup.js';
import { contentDisposition, serializeAttachment } from './serialize-attachment.js';

// An event's attachments: the list, and one attachment's metadata or (with ?download=1) its bytes,
// which stay in the archived payload they arrived in (src/digest/attachments.ts). Attachments sent in
// a later envelope with the same event_id belong to the event too (the digest keys them by event id).

type H = ApiHandler;

const NOT_FOUND = 'The requested resource does not exist';
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function eventIdParam(v: string): string {
  const id = v.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new HttpError('not_found', NOT_FOUND);
  return id;
}

/** projects/{org}/{project}/events/{event_id}/attachments/[?query=name|is:screenshot] */
export const list: H = async (ctx, _req, res, params, url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  let rows = await listAttachments(ctx.db.pool, p.id, eventIdParam(params.eventId!));
  const query = (url.searchParams.get('query') ?? '').trim();
  if (query === 'is:screenshot') rows = rows.filter((r) => /^screenshot(-\d+)?\.(png|jpe?g)$/i.test(r.filename));
  else if (query) rows = rows.filter((r) => r.filename.toLowerCase().includes(query.toLowerCase()));
  // sha1 is not kept: it is computed from the archived bytes, one attachment at a time (an event
  // has a handful; each read decompresses its payload once).
  const out = [];
  for (const r of rows.slice(0, 100)) {
    const a = await loadAttachment(ctx.db.pool, p.id, r.id);
    out.push(serializeAttachment(r, a ? sha1(a.data) : null));
  }
  sendJson(res, 200, out);
};

/** …/attachments/{id}/: metadata; with ?download=1 (or true) the bytes, as a download. */
export const one: H = async (ctx, _req, res, params, url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const eventId = eventIdParam(params.eventId!);
  if (!/^\d{1,15}$/.test(params.attachmentId!)) throw new HttpError('not_found', NOT_FOUND);
  const a = await loadAttachment(ctx.db.pool, p.id, Number(params.attachmentId));
  if (!a || a.meta.event_id !== eventId) throw new HttpError('not_found', NOT_FOUND);
  const download = url.searchParams.get('download');
  if (download === null || download === '0' || download === 'false') {
    sendJson(res, 200, serializeAttachment(a.meta, sha1(a.data)));
    return;
  }
  res.writeHead(200, {
    // As sent by the SDK; one that is not a valid header value becomes a plain byte stream.
    'content-type': /^[\x20-\x7e]{1,200}$/.test(a.meta.content_type) ? a.meta.content_type : 'application/octet-stream',
    'content-length': String(a.data.length),
    'content-disposition': contentDisposition(a.meta.filename),
    // Bytes from an SDK, served from our origin: never sniffed, never run as a page.
    'x-content-type-options': 'nosniff',
    'content-security-policy': "sandbox; default-src 'none'",
  });
  res.end(a.data);
};

import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authFromDsn, AuthError, extractHttpAuth, isWellFormedKey, type ClientAuth } from '../protocol/auth.js';
import { DecompressionError, DecompressionLimitError, parseContentEncoding, type Encoding, type StoredEncoding } from '../protocol/compression.js';
import { clientIp, rateLimitHeaders } from '../ratelimit/index.js';
import type { AppContext } from '../context.js';
import { readBody } from './body.js';
import { compressForStorage, compressSmallForStorage, decompressBounded, decompressSmall, STORAGE_ENCODING } from './codec.js';
import { corsHeaders } from './cors.js';
import { ArchiveDictionaries, DICT_MAX_INPUT } from '../archive/dictionaries.js';
import { GroupCommitter } from './group-commit.js';
import { KeyCache, type ProjectAuth } from './keys.js';
import { PIXEL, pixelBody } from './pixel.js';
import { HttpError } from '../http/errors.js';
import { outcomeOf, Refusal } from './refusal.js';
import { counter, gauge } from '../metrics/index.js';
import { Semaphore } from './semaphore.js';
import { itemQuantities, itemType, PAYLOAD_CATEGORY } from '../protocol/categories.js';
import { serializeEnvelope, type Envelope } from '../protocol/envelope.js';
import type { OutcomeKind } from '../outcomes/index.js';
import type { RefusalReason, SizeLimitSetting } from '../outcomes/reasons.js';
import { Admission } from './admission.js';
import { readEnvelope, validateEnvelope, validateMinidump, validateSecurity, validateStore, type IngestKind, type Validated } from './validate.js';

// The fast path, one request: authenticate (cached) → rate limit → read the body within its limit →
// decompress within the decompressed limit → validate framing and find the event id → compress when
// the client did not → sha-256 → group commit → answer, only after the rows are committed.
// Every refusal is thrown as an HttpError (answered by sendError) and recorded as one outcome per
// item it refuses, in the item's category (protocol/categories.ts); before the payload could be read,
// as one item of the endpoint's category.

/** An item as outcomes count it: its type and size. */
interface ItemRef {
  type: string;
  bytes: number;
}

/** Distinct authentication strings remembered (each ~200 bytes); the cache is emptied when full. */
const ingestRequests = counter('crash_cache_ingest_requests_total',
  'Ingest requests by outcome (accepted, or the outcome of the refusal), reason and data category.', ['outcome', 'reason', 'category']);
const AUTH_CACHE_MAX = 1000;
const AUTH_CACHE_MAX_KEY = 512;

interface RequestState {
  projectId: number | null;
  category: string;
  /** What the payload holds, once it could be read: a refusal then counts each item. */
  items: ItemRef[] | null;
  /** Admitted (admission.ts): holds a slot and `held` bytes until answered. */
  admitted: boolean;
  held: number;
}

export class IngestHandler {
  readonly keys: KeyCache;
  readonly committer: GroupCommitter;
  readonly dictionaries: ArchiveDictionaries;
  readonly admission: Admission;
  private readonly codecs: Semaphore;
  private readonly authCache = new Map<string, ClientAuth | AuthError | null>();

  constructor(private readonly ctx: AppContext) {
    const { config, db, log } = ctx;
    this.keys = new KeyCache(db.pool, config.ingestKeyCacheMs);
    this.codecs = new Semaphore(config.maxConcurrentCompressions);
    const codecs = this.codecs;
    gauge('crash_cache_ingest_compressions', 'Compressions and decompressions off the request thread (MAX_CONCURRENT_COMPRESSIONS): in flight, and waiting for a slot.', ['state'], function () {
      this.set({ state: 'in_flight' }, codecs.inUse);
      this.set({ state: 'waiting' }, codecs.queued);
    });
    gauge('crash_cache_ingest_compressions_peak', 'The most compressions in flight at once since start; never above MAX_CONCURRENT_COMPRESSIONS.', [], function () {
      this.set(codecs.peak);
    });
    gauge('crash_cache_ingest_compressions_waited', 'Compressions that had to wait for a slot since start (the bound at work).', [], function () {
      this.set(codecs.waited);
    });
    this.dictionaries = new ArchiveDictionaries(db.pool, log);
    // Bounded wait for a commit: the connect timeout, plus the statement timeout (30 s when it is off).
    const maxWaitMs = config.dbConnectTimeoutMs + (config.dbStatementTimeoutMs || 30_000) + 1000;
    this.committer = new GroupCommitter(db.pool, config.ingestCommitMaxBatch, log, () => ctx.wake(), maxWaitMs, config.ingestCommitsInFlight);
    this.admission = new Admission({ count: config.ingestMaxPendingCommits, bytes: config.ingestMaxPendingBytes });
  }

  /** `projectParam` null: POST /api/store/, where the key names the project. */
  async handle(kind: IngestKind, req: IncomingMessage, res: ServerResponse, projectParam: string | null, url: URL): Promise<void> {
    // Every request ends in exactly one of these counts: accepted (stored) or its refusal's outcome.
    // CORS headers: with the success answer's own headers (corsHeaders), and on errors by the HTTP
    // service, which adds them to every ingest path's error answer.
    const state: RequestState = { projectId: null, category: PAYLOAD_CATEGORY[kind], items: null, admitted: false, held: 0 };
    try {
      await this.ingest(kind, req, res, projectParam, url, state);
      ingestRequests.inc({ outcome: 'accepted', reason: 'stored', category: state.category });
    } catch (e) {
      if (e instanceof MinidumpDropped) {
        this.record(state, state.items, 'rate_limited', e.reason);
        ingestRequests.inc({ outcome: 'rate_limited', reason: e.reason, category: state.category });
        const id = randomUUID().replace(/-/g, '');
        res.writeHead(200, corsHeaders(req, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(id.length), connection: 'close' })).end(id);
        return;
      }
      const o = outcomeOf(e);
      if (o) this.record(state, state.items, o.outcome, o.reason);
      ingestRequests.inc({ outcome: o?.outcome ?? 'error', reason: o?.reason ?? (e instanceof HttpError ? e.code : 'internal'), category: state.category });
      throw e;
    } finally {
      if (state.admitted) this.admission.leave(state.held);
    }
  }

  /** One outcome per refused item, summed per category; unread payloads as one item of the endpoint's category. */
  private record(state: RequestState, items: ItemRef[] | null, outcome: OutcomeKind, reason: RefusalReason): void {
    if (!items) {
      this.ctx.outcomes.record(state.projectId, outcome, reason, state.category);
      return;
    }
    const per = new Map<string, number>();
    for (const it of items) for (const q of itemQuantities(it.type, it.bytes)) per.set(q.category, (per.get(q.category) ?? 0) + q.quantity);
    for (const [category, quantity] of per) this.ctx.outcomes.record(state.projectId, outcome, reason, category, quantity);
  }

  private async ingest(kind: IngestKind, req: IncomingMessage, res: ServerResponse, projectParam: string | null, url: URL, state: RequestState): Promise<void> {
    const { config } = this.ctx;
    // Project ids are bigint identities; anything else cannot name one of ours.
    if (projectParam !== null && !/^\d{1,15}$/.test(projectParam)) throw new Refusal('not_found', `unknown project ${JSON.stringify(projectParam.slice(0, 40))}`, 'unknown_project');
    // Refused first, before authentication (which may itself wait for the database) and before the
    // body is read: the database cannot take a payload now (restarting, its disk at the floor) or too
    // much is already waiting for it (back-pressure). 503 + Retry-After at once, recorded under the
    // project the path names (as for a missing key; an id that is no project's is counted as unknown).
    const block = this.ctx.db.writeBlock();
    const refusal = block ? new Refusal('unavailable', block.detail, block.reason, { 'retry-after': String(block.retryAfterSecs) }) : this.admission.enter();
    if (refusal) {
      if (projectParam !== null) state.projectId = Number(projectParam);
      throw refusal;
    }
    state.admitted = true;
    const projectId = projectParam === null ? await this.projectOfKey(req, url) : Number(projectParam);
    // GET store: the image-pixel form, the event in the query string (pixel.ts).
    const pixel = kind === 'store' && (req.method === 'GET' || req.method === 'HEAD');
    const contentType = String(req.headers['content-type'] ?? '');
    // A store request with an envelope content type is an envelope (Relay does the same).
    if (kind === 'store' && /^application\/x-sentry-envelope/i.test(contentType)) kind = 'envelope';

    let auth: ClientAuth | null;
    try {
      auth = this.httpAuth(req, url);
    } catch (e) {
      throw authRefusal(e);
    }
    const ip = clientIp(req, config);
    let project: ProjectAuth | null = null;
    if (auth) project = await this.authenticate(projectId, auth, state);
    else if (kind !== 'envelope') throw await this.missingAuth(projectId, state, 'no sentry_key in X-Sentry-Auth, Authorization or the query string');

    const rawEncoding = pixel ? undefined : header(req, 'content-encoding');
    let encoding = parseContentEncoding(rawEncoding);
    if (!encoding) throw new Refusal('unsupported_media_type', `unsupported Content-Encoding ${JSON.stringify(rawEncoding)} (accepted: gzip, deflate, br, zstd, identity)`, 'unsupported_encoding');

    const body = pixel ? pixelBody(url, config.maxEventBytes, 'MAX_EVENT_BYTES') : await readBody(req, config.maxCompressedBodyBytes, 'MAX_COMPRESSED_BODY_BYTES');
    if (body.length === 0) throw new Refusal('invalid_request', 'empty request body', 'empty_body');
    this.admission.hold(body.length);
    state.held += body.length;

    const [limit, setting]: [number, SizeLimitSetting] =
      kind === 'envelope' ? [config.maxEnvelopeBytes, 'MAX_ENVELOPE_BYTES']
      : kind === 'minidump' ? [config.maxAttachmentBytes, 'MAX_ATTACHMENT_BYTES']
      : [config.maxEventBytes, 'MAX_EVENT_BYTES'];
    let raw = await this.decompress(body, encoding, limit, setting);
    if (raw !== body) {
      this.admission.hold(raw.length);
      state.held += raw.length;
    }

    let v: Validated;
    switch (kind) {
      case 'envelope': {
        const env = readEnvelope(raw);
        state.items = env.items.map((it) => ({ type: it.headers.type, bytes: it.payload.length }));
        v = validateEnvelope(env, config);
        break;
      }
      case 'store':
        v = validateStore(raw);
        break;
      case 'security':
        v = validateSecurity(raw);
        break;
      case 'minidump':
        // A crash report is an error with the minidump as its attachment (Relay counts both).
        state.items = [{ type: 'event', bytes: 0 }, { type: 'attachment', bytes: raw.length }];
        v = validateMinidump(raw, contentType);
        break;
    }
    state.category = v.category;

    if (kind === 'envelope') {
      let dsnAuth: ClientAuth | null = null;
      try {
        dsnAuth = authFromDsn(v.envelope!.headers.dsn);
      } catch (e) {
        // An unreadable dsn header only matters when it is the sole authentication.
        if (!auth) throw authRefusal(e);
      }
      if (auth && dsnAuth && dsnAuth.publicKey !== auth.publicKey) throw new Refusal('invalid_request', `the envelope header dsn names another key than the request's ${auth.source} authentication`, 'conflicting_auth');
      if (!auth) {
        if (!dsnAuth) throw await this.missingAuth(projectId, state, 'no sentry_key in X-Sentry-Auth, Authorization, the query string or the envelope header dsn');
        auth = dsnAuth;
        project = await this.authenticate(projectId, auth, state);
      }
    }

    // Rate limits, decided once the payload says which categories it carries: the global and
    // per-address buckets refuse the request, a project's per-category buckets only their items.
    const limited = this.rateLimit(ip, project!, kind, v, state);
    if (limited) {
      raw = limited.raw;
      encoding = 'identity';
    }

    const client = auth!.client ?? header(req, 'user-agent') ?? null;
    // The dedup key is taken before a partial envelope replaces `raw` (see below).
    const sentEncoding = parseContentEncoding(rawEncoding)!;
    const [stored, storedEncoding, dictId] = await this.storedForm(project!.projectId, kind, client, v.category, raw, body, encoding);

    const meta: Record<string, unknown> = { ip, sentry_client: client };
    if (contentType) meta.content_type = contentType;
    const ua = header(req, 'user-agent');
    if (ua && ua !== meta.sentry_client) meta.user_agent = ua;
    if (kind === 'security') {
      const q: Record<string, string> = {};
      for (const [k, val] of url.searchParams) if (k !== 'sentry_key') q[k] = val;
      meta.query = q;
    }

    // The dedup key is the body as the client sent it (with its encoding), not as stored: an SDK's retry
    // of the same bytes must be stored once even when the project's dictionary changed in between and
    // the stored bytes differ (test/ingest/ingest.test.ts saw three identical bodies stored twice).
    const sha256 = createHash('sha256').update(`${sentEncoding}\0`).update(body).digest();
    await this.committer.submit({
      projectId: project!.projectId,
      sha256,
      kind,
      encoding: storedEncoding,
      // An envelope whose event a category limit removed stores no event id (the answer keeps it).
      eventId: limited && !v.envelope!.items.some((it) => it.headers.type === 'event' || it.headers.type === 'transaction') ? null : v.eventId,
      rawSize: raw.length,
      meta: hasNul(meta) ? (sanitize(meta) as Record<string, unknown>) : meta,
      payload: stored,
      dictId,
    });

    if (pixel) {
      res.writeHead(200, corsHeaders(req, { 'content-type': 'image/gif', 'content-length': String(PIXEL.length), 'cache-control': 'no-store' })).end(PIXEL);
      return;
    }
    switch (kind) {
      case 'security':
        res.writeHead(200, corsHeaders(req, { 'content-length': '0' })).end();
        return;
      case 'minidump':
        // Crashpad and Breakpad read the event id as plain text.
        res.writeHead(200, corsHeaders(req, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(v.eventId!.length) })).end(v.eventId);
        return;
      default: {
        // The event id is 32 hex digits: the JSON needs no escaping.
        const text = v.eventId ? `{"id":"${v.eventId}"}` : '{}';
        const limits: Record<string, string> = limited ? { 'x-sentry-rate-limits': limited.headers['x-sentry-rate-limits']! } : {};
        res.writeHead(200, corsHeaders(req, { 'content-type': 'application/json', 'content-length': String(text.length), ...limits })).end(text);
      }
    }
  }

  /**
   * POST /api/store/ (no project id in the path, as Relay accepts): the project is the key's. The
   * key is then authenticated against it as usual, so a disabled key or project is still refused.
   */
  private async projectOfKey(req: IncomingMessage, url: URL): Promise<number> {
    let auth: ClientAuth | null;
    try {
      auth = this.httpAuth(req, url);
    } catch (e) {
      throw authRefusal(e);
    }
    if (!auth) throw new Refusal('unauthorized', 'missing authentication: no sentry_key in X-Sentry-Auth, Authorization or the query string (POST /api/store/ finds the project from the key)', 'missing_key');
    const id = isWellFormedKey(auth.publicKey) ? await this.keys.projectOfKey(auth.publicKey) : null;
    if (id === null) throw new Refusal('unauthorized', `unknown public key ${JSON.stringify(auth.publicKey.slice(0, 70))} (check the DSN)`, 'invalid_key');
    return id;
  }

  /**
   * extractHttpAuth, remembered per distinct (X-Sentry-Auth, Authorization, query string): an SDK
   * sends the same ones with every event, and parsing them cost ~1.5% of ingest's busy time.
   */
  private httpAuth(req: IncomingMessage, url: URL): ClientAuth | null {
    const xSentryAuth = header(req, 'x-sentry-auth');
    const authorization = header(req, 'authorization');
    const id = `${xSentryAuth ?? ''}\n${authorization ?? ''}\n${url.search}`;
    // Long ones (the image-pixel form carries the whole event in its query) are parsed, not kept.
    if (id.length > AUTH_CACHE_MAX_KEY) return extractHttpAuth({ xSentryAuth, authorization, query: url.searchParams });
    let hit = this.authCache.get(id);
    if (hit === undefined) {
      try {
        hit = extractHttpAuth({ xSentryAuth, authorization, query: url.searchParams });
      } catch (e) {
        if (!(e instanceof AuthError)) throw e;
        hit = e;
      }
      if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
      this.authCache.set(id, hit);
    }
    if (hit instanceof AuthError) throw hit;
    return hit;
  }

  /** No key anywhere: 404 when the project does not exist either (the order), else 401. */
  private async missingAuth(projectId: number, state: RequestState, where: string): Promise<Refusal> {
    if (!(await this.keys.projectExists(projectId))) return new Refusal('not_found', `unknown project ${projectId}`, 'unknown_project');
    state.projectId = projectId;
    return new Refusal('unauthorized', `missing authentication: ${where}`, 'missing_key');
  }

  private async authenticate(projectId: number, auth: ClientAuth, state: RequestState): Promise<ProjectAuth> {
    if (!isWellFormedKey(auth.publicKey)) {
      if (!(await this.keys.projectExists(projectId))) throw new Refusal('not_found', `unknown project ${projectId}`, 'unknown_project');
      state.projectId = projectId;
      throw new Refusal('unauthorized', `unknown public key ${JSON.stringify(auth.publicKey.slice(0, 70))} (check the DSN)`, 'invalid_key');
    }
    let project: ProjectAuth;
    try {
      project = await this.keys.authenticate(projectId, auth.publicKey);
    } catch (e) {
      if (e instanceof Refusal && e.code !== 'not_found') state.projectId = projectId;
      throw e;
    }
    state.projectId = project.projectId;
    return project;
  }

  /**
   * Takes the request's tokens. Throws when everything is refused (429; minidumps: dropped, see
   * MinidumpDropped); when a project's category limit refuses only some items of an envelope, they
   * are recorded as rate limited and the rest is returned as a new envelope to store, with the
   * header that tells the SDK which categories to hold back (a 200, as Relay answers it).
   */
  private rateLimit(ip: string, project: ProjectAuth, kind: IngestKind, v: Validated, state: RequestState): { raw: Buffer; headers: Record<string, string> } | null {
    const env = v.envelope;
    const eventCategory = env ? rateCategoryOfEvent(env) : null;
    const catOf = (type: string): string | null => {
      const r = itemType(type).rateLimit;
      return r === 'event' ? (eventCategory ?? itemType(type).category) : r;
    };
    const categories = env ? [...new Set(env.items.map((it) => catOf(it.headers.type)).filter((c): c is string => c !== null))] : [kind === 'store' ? v.category : kind === 'security' ? 'security' : 'error'];
    const decisions = this.ctx.limiter.check(ip, project.projectId, project.rateLimitPerSec, categories, project.keyLimit);
    if (!decisions.length) return null;
    const refused = new Set(decisions.flatMap((d) => d.categories));
    const whole = decisions.some((d) => d.categories.length === 0) || categories.every((c) => refused.has(c));
    const reason = decisions[0]!.reason;
    if (whole) {
      // Relay never answers 429 to crash reporters (they retry forever): minidumps are dropped
      // with the rate_limited outcome instead, and the reporter is told the upload arrived.
      if (kind === 'minidump') throw new MinidumpDropped(reason);
      const headers = rateLimitHeaders(decisions);
      throw new Refusal('rate_limited', `rate limit exceeded (${reason}${refused.size ? ': ' + [...refused].join(', ') : ''}); retry after ${headers['retry-after']} s`, reason, headers);
    }
    const keep = env!.items.filter((it) => {
      const c = catOf(it.headers.type);
      return c === null || !refused.has(c);
    });
    const dropped = env!.items.filter((it) => !keep.includes(it));
    this.record(state, dropped.map((it) => ({ type: it.headers.type, bytes: it.payload.length })), 'rate_limited', reason);
    state.items = keep.map((it) => ({ type: it.headers.type, bytes: it.payload.length }));
    const reduced: Envelope = { headers: env!.headers, items: keep };
    v.envelope = reduced;
    return { raw: serializeEnvelope(reduced), headers: rateLimitHeaders(decisions) };
  }

  /**
   * The bytes to archive: compressed against the project's dictionary for this SDK, endpoint and
   * category (dictionaries.ts) when that is smaller than what was stored before: the client's own
   * compressed body as sent, or brotli quality 1 of an uncompressed one.
   */
  private async storedForm(projectId: number, kind: IngestKind, client: string | null, category: string, raw: Buffer, body: Buffer, encoding: Encoding): Promise<[Buffer, StoredEncoding, number | null]> {
    // Client-compressed bodies only when ARCHIVE_RECOMPRESS_CLIENT_BODIES. Bench ingest, 1 process,
    // server CPU per event (A/B on a quiet machine, 2 runs each): brotli as before 139-145 µs; the
    // dictionary on bodies ingest compresses anyway 120-132 µs (it is cheaper than brotli q1, and
    // ~2 KB fewer bytes per event are hashed and sent to PostgreSQL); also deflating the 45 % of
    // bodies that arrive gzip 161-174 µs.
    const dictFor = encoding === 'identity' || this.ctx.config.archiveRecompressClientBodies;
    let dc = dictFor && raw.length <= DICT_MAX_INPUT ? this.dictionaries.compress(projectId, ArchiveDictionaries.key(projectId, kind, client, category), raw) : null;
    if (dc instanceof Promise) dc = await dc;
    // The client's bytes are kept as sent unless the dictionary saves a tenth of them: on data it
    // does not help with (already random) raw deflate would win by its missing gzip header alone.
    if (encoding !== 'identity') return dc && dc.stored.length * 10 <= body.length * 9 ? [dc.stored, 'deflate-dict', dc.dict.id] : [body, encoding, null];
    // A payload that fits its dictionary (≤ 1/8 of its size) is not tried with brotli too: brotli
    // quality 1 stores 21.5 % of the raw size on average on the fixtures.
    if (dc && dc.stored.length * 8 <= raw.length) return [dc.stored, 'deflate-dict', dc.dict.id];
    const br = (this.codecs.free ? compressSmallForStorage(raw) : null) ?? (await this.codecs.run(() => compressForStorage(raw)));
    return dc && dc.stored.length < br.length ? [dc.stored, 'deflate-dict', dc.dict.id] : [br, STORAGE_ENCODING, null];
  }

  private async decompress(body: Buffer, encoding: Encoding, limit: number, setting: SizeLimitSetting): Promise<Buffer> {
    try {
      // Synchronous when a MAX_CONCURRENT_COMPRESSIONS slot is free (no promise hops), else in turn.
      return (encoding === 'identity' || this.codecs.free ? decompressSmall(body, encoding, limit) : null) ?? (await this.codecs.run(() => decompressBounded(body, encoding, limit)));
    } catch (e) {
      if (e instanceof DecompressionLimitError) throw new Refusal('payload_too_large', `${encoding === 'identity' ? 'body' : 'decompressed body'} exceeds ${setting} (${limit} bytes)`, setting);
      if (e instanceof DecompressionError) throw new Refusal('invalid_request', `body could not be decompressed: ${e.message}`, 'invalid_compression');
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.committer.close();
  }
}

/** A rate-limited minidump: answered 200 (see rateLimit), recorded, not stored. */
export class MinidumpDropped extends Error {
  constructor(readonly reason: RefusalReason) {
    super('minidump dropped by rate limit');
  }
}

/** The rate-limit category of an envelope's event (error or transaction), which its attachments follow. */
function rateCategoryOfEvent(env: Envelope): string | null {
  for (const it of env.items) {
    const t = it.headers.type;
    if (t === 'event' || t === 'transaction') return itemType(t).rateLimit as string;
  }
  return null;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function authRefusal(e: unknown): unknown {
  if (!(e instanceof AuthError)) return e;
  return e.kind === 'missing' ? new Refusal('unauthorized', e.message, 'missing_key') : new Refusal('invalid_request', e.message, 'invalid_auth');
}

/** Whether any key or string in `v` holds \u0000: almost never, so the copy below is skipped. */
function hasNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (v && typeof v === 'object') {
    for (const k in v) if (k.includes('\u0000') || hasNul((v as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/** jsonb refuses \u0000 in strings; request facts (query values, headers) may carry it. */
function sanitize(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('\u0000') ? v.replace(/\u0000/g, '') : v;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/\u0000/g, ''), sanitize(x)]));
  return v;
}

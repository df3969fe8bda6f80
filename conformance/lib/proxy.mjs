// A pass-through HTTP proxy between the SDKs and the server. Each cell gets its own DSN whose path
// starts with /c/<cell>/, so every request an SDK makes is attributed to its cell: the matrix can say
// which endpoint, encoding and item types each SDK really used, and what the server answered.
import { createServer, request } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

function decode(body, encoding) {
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'br') return brotliDecompressSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  return body;
}

function itemTypes(body, encoding, path) {
  try {
    const raw = decode(body, encoding);
    if (!path.includes('/envelope')) return path.includes('/store') ? ['store'] : [];
    const lines = raw.toString('latin1').split('\n');
    const types = [];
    // Envelope: header line, then per item a header line and a payload (by length or up to newline).
    let i = 1;
    let offset = lines[0].length + 1;
    const text = raw.toString('latin1');
    while (offset < text.length) {
      const end = text.indexOf('\n', offset);
      const headerLine = text.slice(offset, end < 0 ? text.length : end);
      offset = end < 0 ? text.length : end + 1;
      if (!headerLine.trim()) continue;
      const h = JSON.parse(headerLine);
      types.push(h.type);
      if (typeof h.length === 'number') offset += h.length + 1;
      else {
        const e2 = text.indexOf('\n', offset);
        offset = e2 < 0 ? text.length : e2 + 1;
      }
      if (++i > 1000) break;
    }
    return types;
  } catch {
    return ['?'];
  }
}

export async function startProxy(target) {
  const t = new URL(target);
  const records = []; // {cell, method, path, encoding, contentType, status, rateLimits, items}
  const server = createServer((req, res) => {
    const m = /^\/c\/([^/]+)(\/.*)$/.exec(req.url ?? '');
    const cell = m ? decodeURIComponent(m[1]) : null;
    const path = m ? m[2] : req.url;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, host: t.host };
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') headers['content-length'] = String(body.length);
      const rec = {
        cell, method: req.method, path: path.split('?')[0], encoding: req.headers['content-encoding'] ?? '',
        contentType: req.headers['content-type'] ?? '', bytes: body.length, status: 0, rateLimits: '', at: Date.now(), doneAt: 0,
        items: req.method === 'POST' ? itemTypes(body, req.headers['content-encoding'] ?? '', path) : [],
      };
      if (process.env.CC_PROXY_BODIES) rec.body = decode(body, rec.encoding).toString('utf8'); // debugging aid
      records.push(rec);
      const up = request({ host: t.hostname, port: t.port, method: req.method, path, headers }, (ur) => {
        rec.status = ur.statusCode ?? 0;
        rec.rateLimits = ur.headers['x-sentry-rate-limits'] ?? '';
        rec.doneAt = Date.now();
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', (e) => {
        rec.status = 502;
        res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: `proxy: ${e.message}` }));
      });
      up.end(body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    records,
    dsnFor(dsn, cell) {
      const u = new URL(dsn);
      return `${u.protocol}//${u.username}@127.0.0.1:${port}/c/${encodeURIComponent(cell)}${u.pathname}`;
    },
    close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

import { request } from 'node:http';

// A plain HTTP client for ingest tests: sends exactly the bytes and headers given (chunked when no
// content-length is set, as @sentry/node does), and resolves with the answer even when the server
// answers before the body is sent (413 on a declared Content-Length) and closes the connection.

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string | Buffer[] } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => {});
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any ;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', (e) => {
      if (!answered) setTimeout(() => !answered && reject(e), 200);
    });
    const parts = opts.body === undefined ? [] : Array.isArray(opts.body) ? opts.body : [opts.body];
    for (const p of parts) req.write(p);
    req.end();
  });
}

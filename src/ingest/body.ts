import type { IncomingMessage } from 'node:http';
import type { SizeLimitSetting } from '../outcomes/reasons.js';
import { Refusal } from './refusal.js';

// Reads a request body into memory, refusing as soon as it passes `limit` bytes: a declared
// Content-Length over the limit is refused before reading anything, a chunked body when the running
// total passes it. Either way at most `limit` bytes are held. The caller answers 413 with
// `Connection: close` (sendError does when the request is incomplete), so the rest is never read.

export async function readBody(req: IncomingMessage, limit: number, setting: SizeLimitSetting): Promise<Buffer> {
  const tooLarge = () => new Refusal('payload_too_large', `request body exceeds ${setting} (${limit} bytes)`, setting);
  // A client that resets after we answered must not surface as an unhandled 'error'.
  req.on('error', () => {});
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.pause();
    throw tooLarge();
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) return finish(tooLarge());
      chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = (e: Error) => finish(new Refusal('invalid_request', `request body could not be read: ${e.message}`, 'unreadable_body'));
    const onAborted = () => finish(new Refusal('invalid_request', 'request body was aborted by the client', 'aborted_body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

import { inflateSync } from 'node:zlib';
import type { SizeLimitSetting } from '../outcomes/reasons.js';
import { Refusal } from './refusal.js';

// GET /api/{project}/store/?sentry_data=<event>&sentry_key=… (protocol notes §3): the image-pixel
// form of the store endpoint, from clients that could only load an image. The event is the
// `sentry_data` query parameter: JSON, or base64 of JSON, or base64 of zlib-compressed JSON
// (Relay's store endpoint decodes the same three). The answer is a 1×1 transparent GIF.

/**
 * A 1×1 transparent GIF (42 bytes): header GIF89a, 1×1 screen with a 2-colour table (black,
 * white), a graphic control extension making colour 0 transparent, the 1×1 image, trailer.
 */
export const PIXEL = Buffer.from('47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b', 'hex');

export function pixelBody(url: URL, limit: number, setting: SizeLimitSetting): Buffer {
  const data = url.searchParams.get('sentry_data');
  if (!data) throw new Refusal('invalid_request', 'missing sentry_data query parameter (the event, for GET /api/{project}/store/)', 'empty_body');
  const tooLarge = () => new Refusal('payload_too_large', `sentry_data exceeds ${setting} (${limit} bytes)`, setting);
  if (data.trimStart().startsWith('{')) {
    const raw = Buffer.from(data, 'utf8');
    if (raw.length > limit) throw tooLarge();
    return raw;
  }
  // URLSearchParams turned '+' into ' '; base64 from a URL may also be the URL-safe alphabet.
  const b64 = data.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) throw new Refusal('invalid_request', 'sentry_data is neither JSON nor base64', 'invalid_json');
  const bin = Buffer.from(b64, 'base64');
  if (bin[0] === 0x7b) {
    if (bin.length > limit) throw tooLarge();
    return bin;
  }
  try {
    return inflateSync(bin, { maxOutputLength: limit });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new Refusal('invalid_request', `sentry_data is base64 but neither JSON nor zlib data: ${(e as Error).message}`, 'invalid_compression');
  }
}

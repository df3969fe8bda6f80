// Just enough multipart/form-data (RFC 7578) for minidump uploads: parts with a name, an optional
// filename and content type, and their bytes. Returns null when the body does not follow the boundary.

export interface Part {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

export function parseMultipart(body: Buffer, contentType: string): Part[] | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) return null;
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) return null;
  for (;;) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing "--"
    if (body[pos] === 0x0d) pos++;
    if (body[pos] === 0x0a) pos++;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return null;
    const head = body.toString('utf8', pos, headEnd);
    const next = body.indexOf(delim, headEnd + 4);
    if (next < 0) return null;
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const disp = /content-disposition:[^\r\n]*/i.exec(head)?.[0] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1] ?? null;
    const ct = /content-type:\s*([^\r\n]*)/i.exec(head)?.[1]?.trim() ?? null;
    parts.push({ name, filename, contentType: ct, data: body.subarray(headEnd + 4, end) });
    pos = next;
  }
  return parts;
}

import yazl from 'yazl';

/** A zip of these files (deflated), as sentry-cli's bundles are. */
export function makeZip(files: Record<string, string | Buffer>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) z.addBuffer(Buffer.isBuffer(data) ? data : Buffer.from(data), name);
  z.end();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => parts.push(c));
    z.outputStream.on('error', reject);
    z.outputStream.on('end', () => resolve(Buffer.concat(parts)));
  });
}

/** A bundle as `sentry-cli sourcemaps upload` builds it: manifest.json naming its files. */
export function bundleFiles(files: { path: string; type: string; url: string; headers?: Record<string, string>; data: string }[], extra: Record<string, string> = {}): Record<string, string> {
  const manifest = { files: Object.fromEntries(files.map((f) => [f.path, { type: f.type, url: f.url, headers: f.headers ?? {} }])), org: 'acme' };
  return { 'manifest.json': JSON.stringify(manifest), ...Object.fromEntries(files.map((f) => [f.path, f.data])), ...extra };
}

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

// The ceiling: a bare node:http server that does the least any ingest must do — read the whole body,
// hash it (sha-256, as the archive does) and answer a small JSON — so that ingest throughput can be
// read as a fraction of what this machine, this Node and this load generator allow in the same run.
// Run as its own process: `node dist/bench/ceiling.js PORT`; prints "listening PORT" when ready.

const port = Number(process.argv[2] ?? 0);
const server = createServer((req, res) => {
  const h = createHash('sha256');
  req.on('data', (c: Buffer) => h.update(c));
  req.on('end', () => {
    const body = `{"id":"${h.digest('hex').slice(0, 32)}"}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening ${typeof a === 'object' && a ? a.port : port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});

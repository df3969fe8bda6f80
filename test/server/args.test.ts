import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseServerArgs, UsageError } from '../../src/server/main.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { VERSION } from '../../src/version.js';

// The server's command line (node:util parseArgs): every combination either names a mode or is a
// usage error (exit 2) — `worker --no-worker` used to start nothing and log "worker running".

const run = promisify(execFile);
const bin = join(PACKAGE_ROOT, 'bin', 'crash-cache');

describe('crash-cache arguments', () => {
  it('names the modes', () => {
    expect(parseServerArgs([])).toEqual({ kind: 'run', http: true, worker: true });
    expect(parseServerArgs(['--no-worker'])).toEqual({ kind: 'run', http: true, worker: false });
    expect(parseServerArgs(['worker'])).toEqual({ kind: 'run', http: false, worker: true });
    expect(parseServerArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseServerArgs(['worker', '--help'])).toEqual({ kind: 'help' });
    // what the first of HTTP_PROCESSES starts the others with: HTTP only
    expect(parseServerArgs(['--http-sibling'])).toEqual({ kind: 'run', http: true, worker: false, sibling: true });
  });

  it('refuses contradictions and unknown arguments', () => {
    for (const argv of [['worker', '--no-worker'], ['--no-worker', 'worker'], ['--bogus'], ['serve'], ['worker', 'worker'], ['--no-worker=1'], ['worker', '--http-sibling']]) {
      expect(() => parseServerArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });

  it('exits 2 with the usage on `worker --no-worker`, and prints its version', async () => {
    const err = await run(process.execPath, [bin, 'worker', '--no-worker']).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/would run nothing[\s\S]*usage: crash-cache/);
    expect((await run(process.execPath, [bin, '--version'])).stdout.trim()).toBe(VERSION);
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/paths.js';

// What the source-map tests share: the real sentry-cli from node_modules.

const run = promisify(execFile);
export const SENTRY_CLI = join(PACKAGE_ROOT, 'node_modules', '@sentry', 'cli', 'bin', 'sentry-cli');

/** Runs the real sentry-cli against a server as SENTRY_ORG acme; its output, or an error with it. */
export async function sentryCli(target: { url: string; token: string; project: string }, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(SENTRY_CLI, args, {
      env: { ...process.env, SENTRY_URL: target.url, SENTRY_AUTH_TOKEN: target.token, SENTRY_ORG: 'acme', SENTRY_PROJECT: target.project, SENTRY_LOAD_DOTENV: '0', SENTRY_DISABLE_UPDATE_CHECK: '1' },
      timeout: 60_000,
    });
    return stdout + stderr;
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`sentry-cli ${args.join(' ')} exited with ${err.code}: ${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { Semaphore } from '../ingest/semaphore.js';
import { transaction } from '../storage/transaction.js';
import { BundleError, readBundle, type Bundle } from './bundle.js';
import { chunkSizes, claimBundle, failBundle, findBundle, joinChunks, storeBundle } from './store.js';

// Assembling an artifact bundle from its uploaded chunks, in the request that asks for it once every
// chunk is there: join the chunks (at most SOURCEMAP_MAX_BUNDLE_BYTES in memory), check the whole
// against its sha1, unzip and check the manifest (bundle.ts), store the files (store.ts). The answer is
// what sentry-cli polls for: "not_found" with the missing chunks, "assembling" while another request
// works on it, then "ok" or "error" with the reason. A bundle is stored once per project it names.

export interface AssembleRequest {
  checksum: Buffer;
  chunks: Buffer[];
  release: string;
  dist: string;
}

export interface AssembleAnswer {
  state: 'ok' | 'error' | 'not_found' | 'assembling';
  missingChunks: string[];
  detail: string | null;
}

/**
 * One assembly at a time per process: at its peak one holds the chunks, the joined zip and its unzipped
 * files — about 3 × SOURCEMAP_MAX_BUNDLE_BYTES — so this is what bounds the memory uploads can take.
 * Others wait their turn (and a poll meanwhile answers "assembling").
 */
const assembling = new Semaphore(1);

/** An attempt still "assembling" after this long died with its process: another request may take over. */
const STALE_SECS = 300;

const answer = (state: AssembleAnswer['state'], detail: string | null = null, missingChunks: string[] = []): AssembleAnswer => ({ state, missingChunks, detail });

export async function assembleBundle(pool: pg.Pool, config: Config, projectIds: number[], r: AssembleRequest): Promise<AssembleAnswer> {
  const existing = await Promise.all(projectIds.map((p) => findBundle(pool, p, r.checksum)));
  if (existing.every((b) => b?.state === 'ok')) return answer('ok');
  if (existing.some((b) => b?.state === 'assembling' && b.age_secs < STALE_SECS)) return answer('assembling');

  const sizes = await chunkSizes(pool, r.chunks);
  const missing = [...new Set(r.chunks.map((c) => c.toString('hex')).filter((c) => !sizes.has(c)))];
  if (missing.length) return answer('not_found', null, missing);
  const total = r.chunks.reduce((n, c) => n + sizes.get(c.toString('hex'))!, 0);
  if (total > config.sourcemapMaxBundleBytes) return answer('error', `the bundle has ${total} bytes, over SOURCEMAP_MAX_BUNDLE_BYTES (${config.sourcemapMaxBundleBytes})`);

  const mine: number[] = [];
  for (const p of projectIds) {
    if (existing[projectIds.indexOf(p)]?.state === 'ok') continue;
    if (await claimBundle(pool, p, r.checksum, r.release, r.dist, STALE_SECS)) mine.push(p);
  }
  if (!mine.length) return answer('assembling');

  return assembling.run(() => assembleClaimed(pool, config, mine, r));
}

async function assembleClaimed(pool: pg.Pool, config: Config, mine: number[], r: AssembleRequest): Promise<AssembleAnswer> {
  const fail = async (detail: string): Promise<AssembleAnswer> => {
    for (const p of mine) await failBundle(pool, p, r.checksum, detail);
    return answer('error', detail);
  };
  try {
    const zip = await joinChunks(pool, r.chunks);
    if (!zip) return await fail('a chunk of the bundle disappeared during assembly; upload again');
    const sha1 = createHash('sha1').update(zip).digest();
    if (!sha1.equals(r.checksum)) return await fail(`the chunks join to a file whose sha1 is ${sha1.toString('hex')}, not the checksum ${r.checksum.toString('hex')}`);
    let bundle: Bundle;
    try {
      bundle = await readBundle(zip, config.sourcemapMaxBundleBytes);
    } catch (e) {
      if (e instanceof BundleError) return await fail(e.message);
      throw e;
    }
    let refused: string | null = null;
    for (const p of mine) {
      const why = await transaction(pool, (c) => storeBundle(c, p, r.checksum, bundle, r.chunks, config.sourcemapMaxProjectBytes));
      if (why) await failBundle(pool, p, r.checksum, (refused = why));
    }
    return refused ? answer('error', refused) : answer('ok');
  } catch (e) {
    // Not the bundle's fault (the database went away): record it so a poll does not wait STALE_SECS.
    await fail('assembly failed on the server; upload again').catch(() => {});
    throw e;
  }
}

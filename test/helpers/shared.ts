import { describe, it } from 'vitest';
import { sharedCorpus, type LicensedCorpus } from '../fixtures/corpus.js';

/**
 * A describe block over a corpus that lives only in ../shared/fixtures (see test/fixtures/corpus.ts).
 * When the corpus is absent the block holds one test, skipped with the reason (the reporter shows it);
 * `body` runs only when it is present, so it may read the corpus at collection time.
 */
export function describeShared(corpus: LicensedCorpus, title: string, body: (dir: string) => void): void {
  const c = sharedCorpus(corpus);
  describe(title, () => {
    if (c.present) body(c.dir);
    else it(`skipped: ${c.reason}`, (ctx) => ctx.skip(c.reason));
  });
}

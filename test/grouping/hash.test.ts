// Variant hashes: md5 of the contributing leaf values, each leaf encoded to UTF-8 on its own and
// the bytes concatenated (the engine hashes the joined text at once when that gives the same bytes).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashValues, leafText } from '../../src/grouping/hash.js';

const leafByLeaf = (values: Iterable<unknown>) => {
  const h = createHash('md5');
  for (const v of values) h.update(leafText(v), 'utf8');
  return h.digest('hex');
};

describe('hashValues', () => {
  it.each([
    [[]],
    [['foo.py', 'main', 'ValueError']],
    [['a', 1, 2.5, true, null, 'ü€😀']],
    // a surrogate pair split across two leaves: each half alone is U+FFFD, not the joined 😀
    [['a\ud83d', '\ude00b']],
    [['\ud83d', '\ude00']],
    // lone surrogates inside leaves (hashed joined): each becomes U+FFFD either way
    [['\ude00\ud83dx', 'y\ud83d\ude00', '\ude00']],
    [new Set(['x', '\ud83d', '\ude00'])],
  ])('%j', (values) => {
    expect(hashValues(values)).toBe(leafByLeaf(values));
  });

  it('keeps the md5 of nothing as the fallback hash', () => {
    expect(hashValues([])).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(hashValues(['\ud83d', '\ude00'])).not.toBe(hashValues(['\ud83d\ude00']));
  });
});

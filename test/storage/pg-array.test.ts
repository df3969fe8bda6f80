import { afterAll, beforeAll, vi, expect, test } from 'vitest';
import fc from 'fast-check';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { numArray, textArray } from '../../src/storage/pg-array.js';

// Array literals built by src/storage/pg-array.ts read back by PostgreSQL exactly as the values sent.

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

const back = async (sql: string, p: string) => (await db.pool.query(sql, [p])).rows[0].v;

test('text arrays: quotes, backslashes, braces, commas, blanks, the word NULL, unicode and nulls', async () => {
  const xs = ['a"b', 'c\\d', '{x,y}', ' lead', '', 'NULL', null, 'ünï 😀', '\\"', 'tab\there\nnewline'];
  expect(await back('SELECT $1::text[] AS v', textArray(xs))).toEqual(xs);
  expect(await back('SELECT $1::text[] AS v', textArray([]))).toEqual([]);
});

test('random strings survive the round trip', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.option(fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, '')), { nil: null }), { maxLength: 20 }), async (xs) => {
      expect(await back('SELECT $1::text[] AS v', textArray(xs))).toEqual(xs);
    }),
    { numRuns: 100 },
  );
});

test('numbers, floats, booleans and nulls', async () => {
  expect(await back('SELECT $1::bigint[] AS v', numArray([1, null, 9007199254740991, -5]))).toEqual(['1', null, '9007199254740991', '-5']);
  expect(await back('SELECT $1::float8[] AS v', numArray([1795856403.123, 0.5, null]))).toEqual([1795856403.123, 0.5, null]);
  expect(await back('SELECT $1::boolean[] AS v', numArray([true, false, null]))).toEqual([true, false, null]);
  // tag ids: a text array of int-array literals, cast per element as the report insert does
  expect(await back('SELECT array(SELECT array_length(t::int[], 1) FROM unnest($1::text[]) t) AS v', textArray(['{1,2}', '{3}']))).toEqual([2, 1]);
});

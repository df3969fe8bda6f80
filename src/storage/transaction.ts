import type pg from 'pg';

/**
 * Runs `fn` in a transaction on a client of `pool`: COMMIT when it returns, ROLLBACK when it throws
 * (the error goes on), the client back to the pool either way.
 */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

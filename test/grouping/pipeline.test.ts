import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/poll.js';

// Grouping through the real pipeline: events sent over HTTP to a running server, digested by its
// worker, and the resulting issues read back from the database.

let app: TestApp;

beforeAll(async () => {
  app = await startApp('grouping');
});
afterAll(async () => {
  await app?.close();
});

async function send(event: Record<string, unknown>): Promise<string> {
  const id = randomUUID().replace(/-/g, '');
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: id, platform: 'python', level: 'error', ...event }),
  });
  expect(r.status).toBe(200);
  return id;
}

/** The issue id of each event, once the worker has digested them all. */
async function issuesOf(ids: string[]): Promise<number[]> {
  for (let i = 0; i < 300; i++) {
    const { rows } = await app.db.pool.query<{ id: string; issue_id: number }>(
      "SELECT replace(event_id::text, '-', '') AS id, issue_id FROM report WHERE project_id = $1 AND event_id = ANY($2::uuid[])",
      [app.projectId, ids],
    );
    if (rows.length === ids.length) {
      const byId = new Map(rows.map((r) => [r.id, r.issue_id]));
      return ids.map((x) => byId.get(x)!);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('events were not digested within 30 s');
}

function exception(type: string, value: string, frames: Array<{ function: string; lineno: number; module?: string }>) {
  return {
    exception: {
      values: [{ type, value, stacktrace: { frames: frames.map((f) => ({ filename: 'app/views.py', module: f.module ?? 'app.views', in_app: true, ...f })) } }],
    },
  };
}

describe('grouping through the pipeline', () => {
  it('the same error from different line numbers of the same function is one issue', async () => {
    const a = await send(exception('KeyError', "'user'", [{ function: 'load_user', lineno: 10 }]));
    const b = await send(exception('KeyError', "'user'", [{ function: 'load_user', lineno: 42 }]));
    const [ia, ib] = await issuesOf([a, b]);
    expect(ia).toBe(ib);
  });

  it('different functions are different issues', async () => {
    const a = await send(exception('ValueError', 'bad', [{ function: 'parse_order', lineno: 10 }]));
    const b = await send(exception('ValueError', 'bad', [{ function: 'parse_invoice', lineno: 10 }]));
    const [ia, ib] = await issuesOf([a, b]);
    expect(ia).not.toBe(ib);
  });

  it('the same message with different numbers is one issue', async () => {
    const a = await send({ message: 'Order 1234 failed after 3 retries' });
    const b = await send({ message: 'Order 98765 failed after 7 retries' });
    const c = await send({ message: 'Payment 1234 failed after 3 retries' });
    const [ia, ib, ic] = await issuesOf([a, b, c]);
    expect(ia).toBe(ib);
    expect(ic).not.toBe(ia);
  });

  it('an empty fingerprint does not collapse unrelated errors', async () => {
    const a = await send({ fingerprint: [], ...exception('TypeError', 'x', [{ function: 'alpha', lineno: 1 }]) });
    const b = await send({ fingerprint: [], ...exception('IndexError', 'y', [{ function: 'beta', lineno: 1 }]) });
    const [ia, ib] = await issuesOf([a, b]);
    expect(ia).not.toBe(ib);
  });

  it('{{ default }} plus extra values splits by the extra values', async () => {
    const ev = (extra: string) => ({ fingerprint: ['{{ default }}', extra], ...exception('RuntimeError', 'boom', [{ function: 'gamma', lineno: 5 }]) });
    const a1 = await send(ev('tenant-a'));
    const a2 = await send(ev('tenant-a'));
    const b = await send(ev('tenant-b'));
    const plain = await send(exception('RuntimeError', 'boom', [{ function: 'gamma', lineno: 5 }]));
    const [ia1, ia2, ib, ip] = await issuesOf([a1, a2, b, plain]);
    expect(ia1).toBe(ia2);
    expect(ib).not.toBe(ia1);
    expect(ip).not.toBe(ia1);
    expect(ip).not.toBe(ib);
  });

  it('a custom fingerprint groups different errors together', async () => {
    const a = await send({ fingerprint: ['database-down'], ...exception('OperationalError', 'timeout', [{ function: 'q1', lineno: 1 }]) });
    const b = await send({ fingerprint: ['database-down'], ...exception('InterfaceError', 'closed', [{ function: 'q2', lineno: 9 }]) });
    const [ia, ib] = await issuesOf([a, b]);
    expect(ia).toBe(ib);
    // Issue counters follow the reports within FOLD_IDLE_MS (src/digest/fold.ts).
    const count = async () => (await app.db.pool.query<{ event_count: number }>('SELECT event_count::int AS event_count FROM issue WHERE id = $1', [ia])).rows[0]!.event_count;
    expect(await until('the issue counts both events', count, (n) => n === 2, 10_000)).toBe(2);
  });
});

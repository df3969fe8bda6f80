// The read API as a user's script sees it: Bearer token, Sentry's Web API paths and shapes.
export class ApiError extends Error {}

export function apiClient(base, token, org) {
  async function get(path, { raw = false } = {}) {
    const res = await fetch(`${base}/api/0${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new ApiError(`GET /api/0${path} answered ${res.status}${text ? `: ${text.slice(0, 160)}` : ''}`);
    }
    return raw ? Buffer.from(await res.arrayBuffer()) : res.json();
  }
  return {
    org,
    get,
    /** The issue whose title contains `text`, searched as a user would (free text in `query`). */
    async findIssue(project, text) {
      const list = await get(`/projects/${org}/${project}/issues/?query=${encodeURIComponent(`"${text}"`)}&statsPeriod=14d`);
      const hit = list.find((i) => String(i.title ?? '').includes(text));
      if (!hit) throw new ApiError(`no issue titled "…${text}…" in ${list.length} issue(s) found by query`);
      return hit;
    },
    async latestEvent(issueId) {
      return get(`/issues/${issueId}/events/latest/`);
    },
  };
}

/** Retries `fn` until it returns without throwing, for at most `ms` (the digest works asynchronously). */
export async function eventually(fn, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      if (!(e instanceof ApiError) && !(e instanceof CheckError)) throw e;
      // A route the server does not have will not appear by waiting.
      if (/answered 404: .*no route/.test(e.message)) throw e;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A check that failed: its message is the cell's reason. */
export class CheckError extends Error {}
export function expect(cond, reason) {
  if (!cond) throw new CheckError(reason);
}

/** Sentry's event JSON carries interfaces as `entries: [{type, data}]`. */
export function entry(event, type) {
  return (event.entries ?? []).find((e) => e.type === type)?.data;
}
export function tagValue(event, key) {
  const tags = event.tags ?? [];
  return Array.isArray(tags) ? tags.find((t) => t.key === key)?.value : tags[key];
}

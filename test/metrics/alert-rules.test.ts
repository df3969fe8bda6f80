import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { startApp, type TestApp } from '../helpers/app.js';

// docs/prometheus-alerts.yml against what could break it: YAML Prometheus would refuse (a rule without
// an alert, expr, severity or summary; a bad `for`), an expression Prometheus's own PromQL grammar
// (@prometheus-io/lezer-promql, the parser of its web UI) does not parse, and a metric or label the
// real server does not expose (scraped here after an event went through it).

interface Rule { alert?: string; expr?: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Family { name: string }

const TOKEN = 'alert-rules-metrics-token-0123456789';
let app: TestApp;
let families: Map<string, Family>;
/** Label names seen on each sample name (a histogram's _count, _sum, _bucket included). */
const labelsOf = new Map<string, Set<string>>();

beforeAll(async () => {
  app = await startApp('rules', { METRICS_TOKEN: TOKEN });
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-sentry-auth': app.auth },
    body: JSON.stringify({ message: 'rules', level: 'error', platform: 'node' }),
  });
  expect(r.status).toBe(200);
  const text = await (await fetch(`${app.server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  // the parser validates the text; labels are read from the sample lines (it merges a histogram's series)
  families = new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/.exec(line);
    if (!m) continue;
    const keys = labelsOf.get(m[1]!) ?? new Set<string>();
    for (const k of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) keys.add(k[1]!);
    labelsOf.set(m[1]!, keys);
  }
});
afterAll(async () => {
  await app?.close();
});

/** The family a sample name belongs to (a histogram's _count, _sum and _bucket are its own). */
const familyOf = (name: string) => families.get(name) ?? families.get(name.replace(/_(count|sum|bucket)$/, ''));

it('every rule is complete, parses as PromQL, and reads metrics and labels the server exposes', () => {
  const doc = parseYaml(readFileSync(join(PACKAGE_ROOT, 'docs', 'prometheus-alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  const rules = doc.groups.flatMap((g) => g.rules);
  expect(rules.length).toBeGreaterThanOrEqual(8);
  expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  for (const r of rules) {
    const what = r.alert ?? JSON.stringify(r).slice(0, 80);
    expect(r.alert, what).toMatch(/^CrashCache[A-Za-z]+$/);
    expect(['critical', 'warning', 'info'], what).toContain(r.labels?.severity);
    expect(r.annotations?.summary, what).toBeTruthy();
    expect(r.annotations?.description, what).toBeTruthy();
    if (r.for !== undefined) expect(r.for, what).toMatch(/^\d+[smh]$/);
    const expr = r.expr!;
    const tree = parser.parse(expr);
    const errors: string[] = [];
    const selectors: { name: string; labels: string[] }[] = [];
    tree.iterate({
      enter(n) {
        if (n.type.isError) errors.push(`at ${n.from}: ${JSON.stringify(expr.slice(Math.max(0, n.from - 10), n.to + 10))}`);
        if (n.name === 'VectorSelector') {
          const id = n.node.getChild('Identifier');
          const labels = n.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher').map((m) => expr.slice(m.getChild('LabelName')!.from, m.getChild('LabelName')!.to)) ?? [];
          if (id) selectors.push({ name: expr.slice(id.from, id.to), labels });
        }
      },
    });
    expect(errors, `${what}: ${expr}`).toEqual([]);
    expect(selectors.length, what).toBeGreaterThan(0);
    for (const s of selectors) {
      const family = familyOf(s.name);
      expect(family, `${what}: ${s.name} is not exposed by the server`).toBeDefined();
      const known = labelsOf.get(s.name) ?? new Set<string>();
      for (const l of s.labels) expect(known.has(l), `${what}: ${s.name} has no label ${l}`).toBe(true);
    }
  }
});

it('the grammar check is not blind: a broken expression fails it', () => {
  let broken = false;
  parser.parse('sum(rate(crash_cache_queue_depth[5m]) > ').iterate({ enter(n) { if (n.type.isError) broken = true; } });
  expect(broken).toBe(true);
});

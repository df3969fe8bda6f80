import client from 'prom-client';

// The process's Prometheus metrics: one registry, and a tiny API any part calls to count or time
// what it does, e.g.
//   counter('crash_cache_retention_deleted_total', 'Rows deleted by retention.', ['table']).inc({ table: 'report' }, n);
// Each call with the same name returns the same metric, so a part may call it at its use site or
// keep it in a module constant. Names start with crash_cache_; labels take a closed set of values
// we write ourselves (reasons, categories, parts), never user data, so the series stay bounded.
// Served by src/metrics/http.ts (GET /metrics, see README "Metrics").

export const registry = new client.Registry();

type Labels<L extends string> = readonly L[];

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function counter<L extends string = never>(name: string, help: string, labelNames: Labels<L> = []): client.Counter<L> {
  return existing<client.Counter<L>>(name) ?? new client.Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string = never>(name: string, help: string, labelNames: Labels<L> = [], collect?: (this: client.Gauge<L>) => void | Promise<void>): client.Gauge<L> {
  return existing<client.Gauge<L>>(name) ?? new client.Gauge<L>({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });
}

export function histogram<L extends string = never>(name: string, help: string, labelNames: Labels<L> = [], buckets?: number[]): client.Histogram<L> {
  return existing<client.Histogram<L>>(name) ?? new client.Histogram<L>({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
}

let defaults = false;
/**
 * Node's own metrics (prom-client's defaults, prefixed crash_cache_): event-loop lag, heap by space,
 * RSS, CPU, GC pauses, open handles. Called once by the server; tests with several apps share it.
 */
export function collectProcessMetrics(): void {
  if (defaults) return;
  defaults = true;
  client.collectDefaultMetrics({ register: registry, prefix: 'crash_cache_', eventLoopMonitoringPrecision: 20 });
}

export const CONTENT_TYPE = registry.contentType;

/** The text exposition of every metric (collectors that query the database run now). */
export function render(): Promise<string> {
  return registry.metrics();
}

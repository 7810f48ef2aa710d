import { collectDefaultMetrics, Counter, Registry, type Metric } from 'prom-client';

/** Prometheus reserves this suffix for counters (`promtool check metrics` rejects it on anything else). */
const COUNTER_SUFFIX = '_total';

/**
 * Registers Node's process metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC,
 * handles) on `registry`. prom-client's defaults include gauges named `*_total`
 * (`nodejs_active_handles_total`, `nodejs_active_requests_total`, `nodejs_active_resources_total`),
 * which break Prometheus naming; each is the sum of a labelled gauge of the same name without
 * the suffix (`nodejs_active_handles{type}`), so they are dropped rather than renamed.
 */
export function collectProcessMetrics(registry: Registry): void {
  // Collected on a scratch registry first, so only prom-client's own metrics are filtered.
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const { name } of defaults.getMetricsAsArray()) {
    const metric = defaults.getSingleMetric(name);
    if (metric === undefined || isMisnamedGauge(name, metric)) continue;
    registry.registerMetric(metric);
  }
}

function isMisnamedGauge(name: string, metric: Metric): boolean {
  return name.endsWith(COUNTER_SUFFIX) && !(metric instanceof Counter);
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from './collect-process-metrics.js';

/** Metric name → type, from the exposition's `# TYPE` lines. */
function declaredTypes(exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

test("no metric but a counter ends in _total, and prom-client's labelled twins stay", async () => {
  const registry = new Registry();
  collectProcessMetrics(registry);
  const types = declaredTypes(await registry.metrics());
  const misnamed = [...types].filter(([name, type]) => name.endsWith('_total') && type !== 'counter');
  assert.deepEqual(misnamed, []);
  for (const name of ['nodejs_active_handles', 'nodejs_active_requests', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
    assert.ok(types.has(name), `${name} is exposed`);
  }
  assert.equal(types.get('process_cpu_seconds_total'), 'counter');
});

test("filters only prom-client's metrics: the caller's, even a misnamed one, stay for promtool to flag", async () => {
  const registry = new Registry();
  new Counter({ name: 'app_things_total', help: 'Things.', registers: [registry] });
  new Gauge({ name: 'app_open_total', help: 'Open things.', registers: [registry] });
  collectProcessMetrics(registry);
  const types = declaredTypes(await registry.metrics());
  assert.equal(types.get('app_things_total'), 'counter');
  assert.equal(types.get('app_open_total'), 'gauge');
  assert.ok(types.has('nodejs_active_handles'));
});

test('each registry gets its own process metrics (two processes in one test do not collide)', async () => {
  const first = new Registry();
  const second = new Registry();
  collectProcessMetrics(first);
  collectProcessMetrics(second);
  assert.match(await second.metrics(), /^process_resident_memory_bytes \d+/m);
});

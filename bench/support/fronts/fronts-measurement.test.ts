/**
 * The fronts benchmark's judgement, on made-up runs: a run with a failed answer is invalid, the
 * summary uses valid rounds only, ratios pair rounds, and goals read the right series. Part of
 * `npm test` (which finds tests under bench/ too).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { test } from 'node:test';
import { eventually } from '../../../test/support/load-generator.js';
import { keepCpusAwake } from './awake-cpus.js';
import type { LoadKind } from './bench-settings.js';
import { moduleOf, pidOfProfileFile, summariseCpuProfile, type CpuProfile } from './cpu-profile-summary.js';
import { callTree, flameGraphSvg } from './flame-graph.js';
import { replaceBetween } from './fronts-markdown.js';
import { goalStandings, paired, summarise } from './fronts-summary.js';
import { latencyFromNanos, type LoadResult } from './load-result.js';
import { measureSeries, type SeriesResult } from './measure-series.js';
import { parseMetrics, sumOf } from './prometheus-text.js';

function load(overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    tool: 'wrk',
    requests: 1000,
    failures: 0,
    durationS: 1,
    throughputPerS: 1000,
    latencyMs: { mean: 1, p50: 1, p90: 2, p99: 3, p999: 4, max: 5 },
    generatorCpuMs: 10,
    ...overrides,
  };
}

function series(id: string, loadKind: LoadKind, round: number, overrides: Partial<SeriesResult> = {}): SeriesResult {
  return {
    id,
    front: id,
    load: loadKind,
    round,
    tool: 'wrk',
    valid: true,
    invalidReasons: [],
    requests: 1000,
    failures: 0,
    durationS: 1,
    throughputPerS: 1000,
    latencyMs: { mean: 1, p50: 1, p90: 2, p99: 3, p999: 4, max: 5 },
    cpu: { front: { ms: 300, usPerRequest: 300 }, worker: { ms: 100, usPerRequest: 100 } },
    pids: { front: 1, worker: 2 },
    monotonicWindowUs: { start: 0, end: 1e6 },
    capacityPerS: 5000,
    machine: { busyCores: 1, otherCores: 0, stealCores: 0, windowS: 1, referenceWorkCpuMs: 30 },
    loadAverage: { before: [0, 0, 0], after: [0, 0, 0] },
    warmUp: { requests: 10, failures: 0 },
    ...overrides,
  };
}

test('a run with one failed answer is invalid and says why', async () => {
  const result = await measureSeries(
    { id: 'x', front: 'x', load: 'saturation', processes: [{ role: 'front', pid: process.pid }], warmUp: async () => load(), measure: async () => load({ failures: 1, failureSample: '503 no worker' }) },
    1,
  );
  assert.equal(result.valid, false);
  assert.match(result.invalidReasons.join(), /1 of 1000 requests failed \(503 no worker\)/);
});

test('a fixed-rate run that fell short of its rate is invalid; one that kept up is valid', async () => {
  const run = (throughputPerS: number) =>
    measureSeries({ id: 'x', front: 'x', load: 'light', processes: [], warmUp: async () => load(), measure: async () => load({ throughputPerS, targetRatePerS: 200 }) }, 1);
  assert.equal((await run(150)).valid, false);
  assert.equal((await run(199)).valid, true);
});

test('CPU per request divides the CPU each role used by the answers counted; capacity is what the cores would serve at that cost', async () => {
  const result = await measureSeries({ id: 'x', front: 'x', load: 'saturation', processes: [], warmUp: async () => load(), measure: async () => load({ requests: 500, generatorCpuMs: 50 }) }, 1);
  assert.equal(result.cpu.loadGenerator?.usPerRequest, 100);
  assert.equal(result.capacityPerS, (cpus().length * 1e6) / 100);
});

test('percentiles are nearest-rank over raw latencies', () => {
  const latency = latencyFromNanos(Array.from({ length: 1000 }, (_, i) => (1000 - i) * 1e6));
  assert.deepEqual([latency.p50, latency.p99, latency.p999, latency.max], [500, 990, 999, 1000]);
});

test('the summary takes medians of valid rounds only and keeps the reasons of invalid ones', () => {
  const [summary] = summarise([
    series('a', 'saturation', 1, { throughputPerS: 100 }),
    series('a', 'saturation', 2, { throughputPerS: 300 }),
    series('a', 'saturation', 3, { throughputPerS: 99_999, valid: false, invalidReasons: ['3 of 1000 requests failed'] }),
  ]);
  assert.equal(summary?.validRounds, 2);
  assert.equal(summary?.throughputPerS.median, 200);
  assert.deepEqual(summary?.invalidReasons, ['3 of 1000 requests failed']);
});

test('ratios pair series of the same round and skip rounds where either is invalid', () => {
  const results = [
    series('g', 'saturation', 1, { throughputPerS: 200 }),
    series('n', 'saturation', 1, { throughputPerS: 100 }),
    series('g', 'saturation', 2, { throughputPerS: 900 }),
    series('n', 'saturation', 2, { throughputPerS: 100, valid: false }),
  ];
  const ratio = paired(results, 'g@saturation', 'n@saturation', (x, y) => x.throughputPerS / y.throughputPerS);
  assert.deepEqual(ratio, { median: 2, min: 2, max: 2, rounds: 1 });
});

test('goals: the gateway with events on is judged against the naive hop; a missing series is not available, never met', () => {
  const results = [
    series('gateway-full-events-on', 'saturation', 1, { throughputPerS: 2500, cpu: { front: { ms: 0, usPerRequest: 140 } } }),
    series('naive-express-grpc', 'saturation', 1, { throughputPerS: 1000, cpu: { front: { ms: 0, usPerRequest: 300 } } }),
  ];
  const standings = goalStandings(results);
  assert.equal(standings.find((goal) => goal.goal.endsWith('throughput'))?.status, 'met');
  assert.equal(standings.find((goal) => goal.goal.includes('CPU per request'))?.status, 'met');
  assert.equal(standings.find((goal) => goal.goal.startsWith('Events on vs off'))?.status, 'not available');
  assert.equal(standings.find((goal) => goal.goal.startsWith('Light load'))?.status, 'not available');
});

test('goals: light load compares the gateway and the worker under the same load, and the awake row only the awake series', () => {
  const p50 = (ms: number) => ({ latencyMs: { mean: ms, p50: ms, p90: ms, p99: ms, p999: ms, max: ms } });
  const results = [
    series('gateway-full-events-on', 'saturation', 1),
    series('worker-grpc', 'light', 1, p50(2)),
    series('gateway-full-events-on', 'light', 1, p50(3.5)),
    series('worker-grpc', 'light-awake', 1, p50(1)),
    series('gateway-full-events-on', 'light-awake', 1, p50(1.3)),
  ];
  const standings = goalStandings(results);
  const light = standings.find((goal) => goal.goal.startsWith('Light load'));
  const awake = standings.find((goal) => goal.goal.includes('vCPUs kept awake'));
  assert.deepEqual([light?.status, light?.measured.split(';')[0]], ['not met', '1.50 ms']);
  assert.deepEqual([awake?.status, awake?.measured.split(';')[0]], ['met', '0.30 ms']);
  // Without awake series the awake row is not available rather than judged from the plain light ones.
  assert.equal(goalStandings(results.filter((result) => result.load !== 'light-awake')).find((goal) => goal.goal.includes('vCPUs kept awake'))?.status, 'not available');
});

/** The scheduling policy of a process (man 7 sched: 0 SCHED_OTHER, 5 SCHED_IDLE), from /proc/<pid>/sched. */
function schedulingPolicy(pid: number): number | undefined {
  const match = /^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'));
  return match === null ? undefined : Number(match[1]);
}

test('keeping the vCPUs awake: one busy loop per CPU at idle priority, using CPU, gone after stop', async () => {
  const awake = await keepCpusAwake();
  try {
    assert.equal(awake.pids.length, cpus().length);
    assert.equal(awake.policy, 'SCHED_IDLE', 'chrt from util-linux is on this machine');
    // chrt sets the policy and then execs the loop: look until every loop runs under it.
    await eventually('every loop at SCHED_IDLE', () => awake.pids.every((pid) => schedulingPolicy(pid) === 5), 5_000);
    await eventually('the loops using CPU', () => awake.cpuMs() > 0, 10_000);
  } finally {
    await awake.stop();
  }
  assert.deepEqual(awake.pids.filter((pid) => existsSync(`/proc/${pid}`)), []);
});

test('busy loops do not outlive a bench that is interrupted (Ctrl-C) while they run', async () => {
  const script = `import { keepCpusAwake } from ${JSON.stringify(new URL('./awake-cpus.ts', import.meta.url).href)};
const awake = await keepCpusAwake();
console.log(awake.pids.join(' '));
process.kill(process.pid, 'SIGINT');`;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await once(child, 'exit');
  const pids = output.trim().split(' ').map(Number);
  assert.equal(pids.length, cpus().length, output);
  await eventually('the loops gone', () => pids.every((pid) => !existsSync(`/proc/${pid}`)), 5_000);
});

test('a light-awake series runs its load with the loops going, reports their cores apart from other load, and stops them', async () => {
  let loopsDuringMeasure: number[] = [];
  const result = await measureSeries(
    {
      id: 'x',
      front: 'x',
      load: 'light-awake',
      processes: [],
      warmUp: async () => load(),
      measure: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        // The loops are this process's children running the spin script.
        loopsDuringMeasure = childrenRunning('for (;;) {}');
        return load();
      },
    },
    1,
  );
  assert.equal(loopsDuringMeasure.length, cpus().length);
  assert.ok(result.machine.awakeCores !== undefined && result.machine.awakeCores >= 0);
  assert.deepEqual(loopsDuringMeasure.filter((pid) => existsSync(`/proc/${pid}`)), []);
});

/** Pids of this process's children whose command line contains `text`. */
function childrenRunning(text: string): number[] {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

test('goals: worker batching pairs the batched and unbatched worker; events on vs off is judged either way', () => {
  const results = [
    series('worker-grpc', 'saturation', 1, { throughputPerS: 3100 }),
    series('worker-grpc-unbatched', 'saturation', 1, { throughputPerS: 1000 }),
    series('gateway-full-events-on', 'saturation', 1, { throughputPerS: 1500 }),
    series('gateway-full-events-off', 'saturation', 1, { throughputPerS: 1000 }),
  ];
  const standings = goalStandings(results);
  const batching = standings.find((goal) => goal.goal.startsWith('Worker batching'));
  assert.equal(batching?.status, 'met');
  assert.match(batching?.measured ?? '', /^3\.10×/);
  // Events on 50 % faster than off is a 50 % difference, not a "negative loss" that passes.
  assert.equal(standings.find((goal) => goal.goal.startsWith('Events on vs off'))?.status, 'not met');
});

test('a CPU profile: self time by function and module with idle left out, total time of the project\'s functions includes their callees', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 5] },
      { id: 2, callFrame: frame('handle', 'file:///nowhere/packages/gateway/dist/http/lane.js', 9), children: [4] },
      { id: 3, callFrame: frame('(idle)', '') },
      { id: 4, callFrame: frame('parse', '') },
      { id: 5, callFrame: frame('next', 'file:///nowhere/node_modules/express/lib/router/index.js', 41) },
    ],
    startTime: 0,
    endTime: 6000,
    // Each sample stands for the interval up to the next one: 4 and 4 (2 ms parse), 2 (1 ms), 3 (1 ms idle), 5 (1 ms), then a last sample.
    samples: [4, 4, 2, 3, 5, 5],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000],
  };
  const summary = summariseCpuProfile(profile);
  assert.equal(summary.busyMs, 4);
  assert.equal(summary.idleMs, 1);
  // Native code is named with its JavaScript caller, and charged to the caller's module in the charged view.
  assert.deepEqual(summary.selfByFunction.map((row) => [row.name, row.ms, row.share]), [['parse ← handle', 2, 0.5], ['handle', 1, 0.25], ['next', 1, 0.25]]);
  assert.equal(summary.selfByFunction[2]?.location, 'node_modules/express/lib/router/index.js:42');
  assert.deepEqual(summary.selfByModule.map((row) => [row.name, row.ms]), [['(native)', 2], ['@infermesh/gateway/http', 1], ['express', 1]]);
  assert.deepEqual(summary.chargedByModule.map((row) => [row.name, row.ms]), [['@infermesh/gateway/http', 3], ['express', 1]]);
  assert.deepEqual(summary.totalByProjectFunction.map((row) => [row.name, row.ms]), [['handle', 3]]);
});

test('a flame graph has one box per call path, as wide as its time and its callees\' time, idle left out, inside the windows only', () => {
  const frame = (functionName: string, url = 'file:///nowhere/node_modules/express/lib/router/index.js') => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 3, 6] },
      { id: 2, callFrame: frame('handle'), children: [4, 5] },
      { id: 3, callFrame: frame('(idle)', '') },
      { id: 4, callFrame: frame('parse') },
      { id: 5, callFrame: frame('render') },
      { id: 6, callFrame: frame('startUp') },
    ],
    startTime: 0,
    endTime: 9000,
    // In the window [1000, 8000): parse 3 ms, render 1 ms, handle itself 1 ms, idle 1 ms; startUp only outside it.
    samples: [6, 4, 4, 4, 5, 2, 3, 6, 6],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
  const tree = callTree(profile, [{ start: 1_000, end: 7_000 }]);
  const handle = tree.children.get('handle node_modules/express/lib/router/index.js:1')!;
  assert.equal(tree.us, 5_000, 'busy time only');
  assert.deepEqual([...tree.children.keys()], ['handle node_modules/express/lib/router/index.js:1'], 'no idle, nothing outside the window');
  assert.deepEqual([handle.us, ...[...handle.children.values()].map((child) => [child.label.split(' ')[0], child.us])], [5_000, ['parse', 3_000], ['render', 1_000]]);

  const svg = flameGraphSvg(profile, 'a <test> & more', [{ start: 1_000, end: 7_000 }]);
  const widths = [...svg.matchAll(/<title>([^ ]+)[^<]*<\/title><rect [^>]*width="([\d.]+)"/g)].map((match) => [match[1], Number(match[2])]);
  assert.deepEqual(widths.map(([name]) => name), ['all', 'handle', 'parse', 'render']);
  const full = widths[0]![1] as number;
  assert.ok(Math.abs((widths[2]![1] as number) / full - 0.6) < 1e-3 && Math.abs((widths[3]![1] as number) / full - 0.2) < 1e-3, 'widths are shares of the busy time');
  assert.match(svg, /a &lt;test&gt; &amp; more/, 'text is escaped');
});

test('a CPU profile limited to time windows counts only the samples inside them', () => {
  const frame = (functionName: string) => ({ functionName, url: 'file:///nowhere/app.js', lineNumber: 0, columnNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 3] },
      { id: 2, callFrame: frame('startUp') },
      { id: 3, callFrame: frame('serve') },
    ],
    startTime: 1_000,
    endTime: 5_000,
    samples: [2, 2, 3, 3, 2],
    timeDeltas: [0, 1000, 1000, 1000, 1000],
  };
  // Samples at 1000, 2000 (start-up), 3000, 4000 (serving), 5000 (start-up again, the last: no interval).
  const summary = summariseCpuProfile(profile, 10, [{ start: 3_000, end: 5_000 }]);
  assert.deepEqual(summary.selfByFunction.map((row) => [row.name, row.ms]), [['serve', 2]]);
  assert.equal(pidOfProfileFile('CPU.20261203.012331.28465.0.001.cpuprofile'), 28465);
});

test('generated blocks replace only the text between their markers, and are appended when the markers are missing', () => {
  const document = 'intro\n<!-- b -->\nold\n<!-- e -->\noutro\n';
  assert.equal(replaceBetween(document, '<!-- b -->', '<!-- e -->', 'new\n'), 'intro\n<!-- b -->\nnew\n<!-- e -->\noutro\n');
  assert.equal(replaceBetween('intro\n', '<!-- b -->', '<!-- e -->', 'new'), 'intro\n\n<!-- b -->\nnew\n<!-- e -->\n');
});

test('modules: scoped packages, node builtins and V8 pseudo-frames', () => {
  assert.equal(moduleOf('file:///x/node_modules/@grpc/grpc-js/build/src/call.js', 'f'), '@grpc/grpc-js');
  assert.equal(moduleOf('node:internal/streams/readable', 'f'), 'node:internal');
  assert.equal(moduleOf('', '(garbage collector)'), '(garbage collector)');
});

test('metrics are summed over label sets, filtered by labels, and absent ones are undefined', () => {
  const scrape = parseMetrics(
    [
      '# HELP infermesh_gateway_enrichment_cache_lookups_total x',
      'infermesh_gateway_enrichment_cache_lookups_total{source="profile",result="hit"} 7',
      'infermesh_gateway_enrichment_cache_lookups_total{source="profile",result="miss"} 3',
      'infermesh_events_queued 0',
    ].join('\n'),
  );
  assert.equal(sumOf(scrape, 'infermesh_gateway_enrichment_cache_lookups_total'), 10);
  assert.equal(sumOf(scrape, 'infermesh_gateway_enrichment_cache_lookups_total', { result: 'hit' }), 7);
  assert.equal(sumOf(scrape, 'infermesh_events_queued'), 0);
  assert.equal(sumOf(scrape, 'infermesh_events_published_total'), undefined);
});

/**
 * docs/grafana/infermesh-dashboard.json queries only what infermesh exports. Every PromQL
 * expression of the dashboard (panel targets and variable queries) is parsed for the series it
 * selects; each must be a series of a metric family in the `/metrics` of a real gateway, worker
 * or aggregator (a histogram's `_bucket`, `_count` and `_sum`, never its bare name; a gauge or
 * counter by its own name). The processes first serve traffic — predictions, feedback, shadow
 * copies, default outputs, 503s, retries, a reload and a rejected version, events through Kafka,
 * records from the aggregator — so labelled series exist, and then each selected series must have
 * samples (a short list of metrics that only move when something is wrong is exempt) and carry
 * the labels, and literal label values, the dashboard filters and groups by.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../infra/free-port.js';
import { testConsul, testKafka } from '../infra/test-infra.js';
import { startFeatureService, type FeatureService } from '../support/feature-service.js';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { runCli, startAggregatorProcess, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const DASHBOARD_PATH = new URL('../../docs/grafana/infermesh-dashboard.json', import.meta.url);
/** Milliseconds for a promoted version, a record or a Kafka round trip to show: processes compile on start, CI shares cores. */
const SETTLE_TIMEOUT_MS = 90_000;
/** Grafana's reference to the dashboard's data source variable (Grafana syntax, not a template string). */
const DATASOURCE_VARIABLE = ['$', '{datasource}'].join('');
/** Labels Prometheus adds to every scraped series (target labels): never in an exposition. */
const TARGET_LABELS = new Set(['instance', 'job']);

/**
 * Metrics the dashboard shows although a healthy run gives them no samples: they move only when
 * something is wrong that this test does not provoke. Their families must still be exported.
 */
const SAMPLES_ONLY_WHEN_WRONG: Readonly<Record<string, string>> = {
  infermesh_events_dropped_total: 'no event is dropped while Kafka and the disk are fine',
  infermesh_gateway_shadow_argmax_rows_total: 'the test model answers one column, which has no argmax to compare',
  infermesh_aggregator_record_publish_failures_total: 'Consul stays up',
  infermesh_aggregator_duplicates_skipped_total: 'no spool batch is resent and gateways deduplicate feedback themselves',
};

// ------------------------------------------------------------------ PromQL and exposition parsing

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);
const STRING_LITERAL = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/** The series names a PromQL expression selects: identifiers that are not functions, keywords, labels, durations or strings. */
function selectedSeries(expr: string): string[] {
  const bare = expr
    .replace(STRING_LITERAL, '""')
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges, subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?[\w$]+/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:$.])[a-zA-Z_:][\w:]*(?![\w:])/g)) {
    const name = match[0];
    if (/^\s*\(/.test(bare.slice(match.index + name.length))) continue; // a function or an aggregation
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** One label matcher of a selector. */
interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** The selectors with label matchers in an expression: series name and matchers. */
function matchersOf(expr: string): { series: string; matchers: Matcher[] }[] {
  return [...expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)].map((match) => ({
    series: match[1]!,
    matchers: [...match[2]!.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => ({ label: m[1]!, op: m[2]!, value: m[3]! })),
  }));
}

/** Labels an expression groups by (`by (…)`), for expressions selecting a single series. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((match) => match[1]!.split(',').map((label) => label.trim()).filter(Boolean));
}

interface Sample {
  series: string;
  labels: Map<string, string>;
}

interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

/** The series a family of `type` exposes under `name`. */
function seriesOf(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_count`, `${name}_sum`];
  if (type === 'summary') return [name, `${name}_count`, `${name}_sum`];
  return [name];
}

/** Metric families of a Prometheus text exposition, with their samples. */
function parseExposition(text: string): Family[] {
  const families = new Map<string, Family>();
  const bySeries = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed !== null) {
      const family: Family = { name: typed[1]!, type: typed[2]!, samples: [] };
      families.set(family.name, family);
      for (const series of seriesOf(family.name, family.type)) bySeries.set(series, family);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (sample === null) continue;
    const labels = new Map([...(sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!] as const));
    bySeries.get(sample[1]!)?.samples.push({ series: sample[1]!, labels });
  }
  return [...families.values()];
}

// ------------------------------------------------------------------ the dashboard

interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query?: string }; datasource?: { uid?: string } }[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
const allPanels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
/** Every PromQL expression of the dashboard, with where it is. */
const expressions = allPanels.flatMap((panel) => (panel.targets ?? []).flatMap((target) => (target.expr === undefined ? [] : [{ where: `panel '${panel.title}'`, expr: target.expr }])));
/** `label_values(selector, label)` of the query variables. */
const variableQueries = dashboard.templating.list.flatMap((variable) => {
  if (variable.type !== 'query') return [];
  const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
  assert.ok(match !== null, `variable '${variable.name}' is a label_values(selector, label) query: ${query}`);
  return [{ where: `variable '${variable.name}'`, expr: match[1]!, label: match[2]! }];
});

// ------------------------------------------------------------------ the processes

const kvPut = async (consulAddr: string, key: string, value: string) => {
  const response = await fetch(`${consulAddr}/v1/kv/${key}`, { method: 'PUT', body: value });
  assert.equal(response.status, 200, `PUT ${key}`);
};

const model = uniqueModelName('grafana');
const fallback = `${model}-fallback`;
const noFallback = `${model}-nofallback`;
const running: WorkerProcess[] = [];
let features: FeatureService;
let gateway: WorkerProcess;
let worker: WorkerProcess;
let aggregator: WorkerProcess;
let families: Family[] = [];

async function predict(name: string, userId: string): Promise<{ status: number; body: { version?: string; feedbackToken?: string } }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/models/${name}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId }, inputs: { age: 0.5, tenureYears: 1 } }),
  });
  return { status: response.status, body: (await response.json()) as { version?: string; feedbackToken?: string } };
}

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

before(async () => {
  const [consul, kafka] = await Promise.all([testConsul(), testKafka()]);
  const registry = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix];
  const topicPrefix = `${kafka.topic('grafana')}.`;
  const events = ['--kafka-brokers', kafka.brokers.join(','), '--events-topic-prefix', topicPrefix];
  const models = async (...args: string[]) => {
    const result = await runCli(['models', ...args, ...registry]);
    assert.equal(result.code, 0, result.stderr);
  };
  const dead = `127.0.0.1:${await freePort()}`;

  features = await startFeatureService({ u1: { avgBasket: 2, stats: { visits: 0.1 } }, u2: { avgBasket: 1, stats: { visits: 0.5 } } });
  const artifacts = writeVersionArtifacts();
  for (const version of ['v1', 'v2'] as const) await models('publish', model, version, '--uri', artifacts[version].path);
  await models('publish', model, 'bad-sha', '--uri', artifacts.v1.path, '--sha256', 'f'.repeat(64));
  await models('promote', model, 'prod', 'v1');
  worker = await startWorkerProcess(['--model', model, '--deployment', 'prod', ...registry, ...events]);
  running.push(worker);

  const dir = mkdtempSync(join(tmpdir(), 'grafana-dashboard-'));
  const config = (pool: object, extra: object = {}) => ({
    workerModel: model,
    entityKeys: ['userId'],
    inputs: { age: { type: 'number', minimum: 0 }, tenureYears: { type: 'number' } },
    enrichers: [{ name: 'user-features', url: `${features.url}/users/{userId}`, timeoutMs: 2_000, cacheTtlMs: 60_000, features: { avgBasket: { default: 0 }, visits: { path: 'stats.visits', default: 0 } } }],
    tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.age', 'inputs.tenureYears', 'features.avgBasket', 'features.visits'] } },
    deadlineMs: 5_000,
    pool,
    ...extra,
  });
  const configs: [string, object][] = [
    [model, config({ static: [worker.address] })],
    [fallback, config({ static: [dead] }, { defaultOutput: { probability: [[0.5]] } })],
    [noFallback, config({ static: [dead] })],
  ];
  for (const [name, body] of configs) {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
    await models('configure', name, '--file', join(dir, `${name}.json`));
  }
  // Two live variants (one of them with an unreachable second instance: retries, ejections) and a shadow.
  await kvPut(consul.httpAddr, `${consul.prefix}experiments/${model}`, JSON.stringify({
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary', minShare: 0.1, minTrials: 0 },
    variants: [
      { name: 'a', pool: { static: [worker.address, dead] } },
      { name: 'b', pool: { static: [worker.address] } },
      { name: 'mirror', pool: { static: [worker.address] }, role: 'shadow' },
    ],
    shadow: { fraction: 1 },
  }));
  // Things an operator gets wrong: an invalid model config, an unreadable record.
  await kvPut(consul.httpAddr, `${consul.prefix}models/${model}-invalid/config`, '{"tensors": {}}');
  await kvPut(consul.httpAddr, `${consul.prefix}stats/${model}-ghost`, '{');

  gateway = await startGatewayProcess([...registry, ...events, '--experiment-records', 'registry', '--feedback-keys', `k1:${randomBytes(32).toString('hex')}`]);
  running.push(gateway);
  aggregator = await startAggregatorProcess([...registry, ...events, '--group-id', `grafana-${randomBytes(4).toString('hex')}`, '--publish-interval-ms', '500']);
  running.push(aggregator);

  // Predictions (a stranger's enrichment fails), feedback on each, a 400, default outputs and 503s, a v2 inference.
  await eventually('a retry and an ejection in the pool with an unreachable instance', async () => {
    for (const user of ['u1', 'u2', 'stranger', `u${randomBytes(2).toString('hex')}`]) {
      const { status, body } = await predict(model, user);
      assert.equal(status, 200, JSON.stringify(body));
      const feedback = await fetch(`http://127.0.0.1:${gateway.port}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken: body.feedbackToken, reward: 1 }) });
      assert.equal(feedback.status, 202);
    }
    const exposition = await scrape(gateway.port);
    return /^infermesh_gateway_worker_retries_total\{[^}]*\} [1-9]/m.test(exposition) && /^infermesh_gateway_pool_ejections_total\{[^}]*\} [1-9]/m.test(exposition);
  }, SETTLE_TIMEOUT_MS, 100);
  assert.equal((await fetch(`http://127.0.0.1:${gateway.port}/v1/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"entity": {}}' })).status, 400);
  for (let call = 0; call < 4; call += 1) assert.equal((await predict(fallback, 'u1')).status, 200);
  assert.equal((await predict(noFallback, 'u1')).status, 503);
  const v2 = await fetch(`http://127.0.0.1:${gateway.port}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.5, 1, 2, 0.1] }] }),
  });
  assert.equal(v2.status, 200);

  // A reload, and a version the worker rejects.
  await models('promote', model, 'prod', 'v2');
  await eventually('v2 serving through the gateway', async () => (await predict(model, 'u1')).body.version === 'v2', SETTLE_TIMEOUT_MS);
  await models('promote', model, 'prod', 'bad-sha');
  await eventually('the corrupt version rejected', async () => /^infermesh_worker_reload_failures_total\{reason="ARTIFACT_CHECKSUM_MISMATCH"\} [1-9]/m.test(await scrape(worker.metricsPort)), SETTLE_TIMEOUT_MS);

  // The aggregator counted the events from Kafka and published the record the gateway routes by.
  await eventually('the aggregator to publish a record the gateway routes by', async () => {
    const [gatewayMetrics, aggregatorMetrics] = await Promise.all([scrape(gateway.port), scrape(aggregator.metricsPort)]);
    return (
      gatewayMetrics.includes(`infermesh_gateway_experiment_record_age_seconds{model="${model}"}`) &&
      /^infermesh_aggregator_events_consumed_total\{type="infermesh.feedback.received"\} [1-9]/m.test(aggregatorMetrics) &&
      /^infermesh_events_published_total\{type="infermesh.model.reloaded"\} [1-9]/m.test(await scrape(worker.metricsPort))
    );
  }, SETTLE_TIMEOUT_MS, 250);
  families = (await Promise.all([gateway.port, worker.metricsPort, aggregator.metricsPort].map(scrape))).flatMap(parseExposition);
});

after(async () => {
  await Promise.all(running.map((process) => process.stop()));
  await features?.close();
});

// ------------------------------------------------------------------ tests

test('the series extraction reads PromQL: functions, keywords, labels, ranges and strings are not series', () => {
  assert.deepEqual(selectedSeries('histogram_quantile(0.99, sum by (le, model) (rate(foo_seconds_bucket{route=~"/v1/x|y", model=~"$model"}[$__rate_interval])))'), ['foo_seconds_bucket']);
  assert.deepEqual(selectedSeries('sum(rate(a_total[5m])) by (x) / ignoring(y) group_left sum without (z) (b) offset 1h and on (k) c > bool 1e6'), ['a_total', 'b', 'c']);
  assert.deepEqual(selectedSeries('max by (instance) (nodejs_eventloop_lag_p99_seconds) or vector(0)'), ['nodejs_eventloop_lag_p99_seconds']);
  const exposition = parseExposition('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 2\n# TYPE g gauge\ng{a="b"} 3\n');
  assert.deepEqual(exposition.map((family) => [family.name, family.type, family.samples.length]), [['h', 'histogram', 3], ['g', 'gauge', 1]]);
});

test('the dashboard takes its Prometheus data source from a variable, on every panel and query', () => {
  const datasource = dashboard.templating.list.find((variable) => variable.name === 'datasource');
  assert.equal(datasource?.type, 'datasource');
  assert.equal(datasource?.query, 'prometheus');
  for (const panel of allPanels) {
    if (panel.type === 'row' || panel.type === 'text') continue;
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE_VARIABLE }, `panel '${panel.title}'`);
    assert.ok((panel.targets ?? []).length > 0, `panel '${panel.title}' has queries`);
  }
  for (const variable of dashboard.templating.list.filter((candidate) => candidate.type === 'query')) assert.equal(variable.datasource?.uid, DATASOURCE_VARIABLE);
  const ids = allPanels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  assert.ok(expressions.length >= 30, `the dashboard has its queries (${expressions.length})`);
});

test('every series the dashboard queries is exported by a real gateway, worker or aggregator, with samples after traffic', () => {
  // A family several processes export (events from the gateway, the worker and the aggregator) is one series to Prometheus: its samples add up.
  const familyOf = new Map<string, Family>();
  for (const family of families) {
    for (const series of seriesOf(family.name, family.type)) {
      const known = familyOf.get(series);
      familyOf.set(series, known === undefined ? family : { ...known, samples: [...known.samples, ...family.samples] });
    }
  }
  const problems: string[] = [];
  const checked = new Set<string>();
  for (const { where, expr } of [...expressions, ...variableQueries]) {
    const series = selectedSeries(expr);
    if (series.length === 0) problems.push(`${where}: no series in ${expr}`);
    for (const name of series) {
      const family = familyOf.get(name);
      if (family === undefined) {
        const base = name.replace(/_(bucket|count|sum)$/, '');
        const hint = families.find((candidate) => candidate.name === base || candidate.name === name.replace(/_total$/, ''));
        problems.push(`${where}: ${name} is not exported${hint ? ` (${hint.name} is a ${hint.type})` : ''}`);
        continue;
      }
      checked.add(family.name);
      const samples = family.samples.filter((sample) => sample.series === name);
      if (samples.length === 0 && SAMPLES_ONLY_WHEN_WRONG[family.name] === undefined) problems.push(`${where}: ${name} has no samples after the traffic`);
    }
  }
  assert.deepEqual(problems, []);
  // The metrics of each process are on the dashboard: a family the test never reached would be a blind spot.
  for (const prefix of ['infermesh_gateway_', 'infermesh_worker_', 'infermesh_events_', 'infermesh_aggregator_', 'process_', 'nodejs_']) {
    assert.ok([...checked].some((name) => name.startsWith(prefix)), `the dashboard queries ${prefix}* metrics`);
  }
});

test('every label the dashboard filters or groups by, and every literal value it matches, exists on the series', () => {
  const samplesOf = new Map<string, Sample[]>();
  for (const family of families) for (const sample of family.samples) samplesOf.set(sample.series, [...(samplesOf.get(sample.series) ?? []), sample]);
  const problems: string[] = [];
  const check = (where: string, series: string, label: string, value?: { op: string; value: string }) => {
    const samples = samplesOf.get(series) ?? [];
    if (samples.length === 0 || TARGET_LABELS.has(label)) return;
    if (label === 'le' && series.endsWith('_bucket')) return;
    if (!samples.some((sample) => sample.labels.has(label))) {
      problems.push(`${where}: ${series} has no label '${label}' (it has ${[...new Set(samples.flatMap((sample) => [...sample.labels.keys()]))].join(', ') || 'none'})`);
      return;
    }
    if (value === undefined || value.value.includes('$') || (value.op !== '=' && value.op !== '=~')) return;
    const matches = value.op === '=' ? (actual: string) => actual === value.value : (actual: string) => new RegExp(`^(?:${value.value})$`).test(actual);
    if (!samples.some((sample) => matches(sample.labels.get(label) ?? ''))) {
      problems.push(`${where}: no ${series} sample has ${label}${value.op}"${value.value}" (values: ${[...new Set(samples.map((sample) => sample.labels.get(label)))].join(', ')})`);
    }
  };
  for (const { where, expr } of expressions) {
    for (const { series, matchers } of matchersOf(expr)) for (const matcher of matchers) check(where, series, matcher.label, matcher);
    const series = selectedSeries(expr);
    if (series.length === 1) for (const label of groupingLabels(expr)) check(where, series[0]!, label);
  }
  for (const { where, expr, label } of variableQueries) for (const series of selectedSeries(expr)) check(where, series, label);
  assert.deepEqual(problems, []);
});

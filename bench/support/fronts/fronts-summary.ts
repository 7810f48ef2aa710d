/** Summaries across rounds of the fronts benchmark, the ratios the issue's goals use, and where each goal stands. */
import type { LoadKind } from './bench-settings.js';
import type { SeriesResult } from './measure-series.js';

/** Median, smallest and largest of a set of rounds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

/** One series over every round it ran in. */
export interface SeriesSummary {
  /** `${id}@${load}`. */
  key: string;
  id: string;
  front: string;
  load: LoadKind;
  tool: string;
  rounds: number;
  validRounds: number;
  /** True when at least one round was valid; the numbers are then medians of the valid rounds only. */
  valid: boolean;
  invalidReasons: string[];
  throughputPerS: Spread;
  /** CPU-bound capacity estimate (see SeriesResult.capacityPerS). */
  capacityPerS: Spread;
  latencyMs: { p50: number; p99: number; p999: number };
  /** Median CPU microseconds per request, by role (front, worker, features, kafka, kserve, loadGenerator). */
  cpuUsPerRequest: Record<string, number>;
  /** Median busy cores of processes outside the series (other agents on the machine). */
  otherCores: number;
  /** Median cores the hypervisor stole from this machine during the window (other tenants of the host). */
  stealCores: number;
  /** Median CPU milliseconds of the fixed reference work before each window: higher means a slower (busier) host. */
  referenceWorkCpuMs: number;
  /** Median predictions one gateway-to-worker call carried (gateway batching); absent without a gateway. */
  predictionsPerWorkerCall?: number;
  /** Median ModelInfer calls one model runtime call carried (worker batching); absent when the worker does not say. */
  callsPerRuntimeCall?: number;
}

/** The median of the defined values, or undefined when there is none. */
function medianOf(values: (number | undefined)[]): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined);
  return defined.length === 0 ? undefined : spread(defined).median;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN, rounds: sorted.length };
}

const optional = <K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> => (value === undefined ? {} : ({ [key]: value } as Record<K, number>));

/** Groups results by series and load and summarises each group. */
export function summarise(results: SeriesResult[]): SeriesSummary[] {
  const groups = new Map<string, SeriesResult[]>();
  for (const result of results) groups.set(`${result.id}@${result.load}`, [...(groups.get(`${result.id}@${result.load}`) ?? []), result]);
  return [...groups.entries()].map(([key, all]) => {
    const valid = all.filter((result) => result.valid);
    const used = valid.length > 0 ? valid : all;
    const roles = [...new Set(used.flatMap((result) => Object.keys(result.cpu)))];
    const first = all[0]!;
    return {
      key,
      id: first.id,
      front: first.front,
      load: first.load,
      tool: first.tool,
      rounds: all.length,
      validRounds: valid.length,
      valid: valid.length > 0,
      invalidReasons: [...new Set(all.flatMap((result) => result.invalidReasons))],
      throughputPerS: spread(used.map((result) => result.throughputPerS)),
      capacityPerS: spread(used.map((result) => result.capacityPerS)),
      latencyMs: {
        p50: spread(used.map((result) => result.latencyMs.p50)).median,
        p99: spread(used.map((result) => result.latencyMs.p99)).median,
        p999: spread(used.map((result) => result.latencyMs.p999)).median,
      },
      cpuUsPerRequest: Object.fromEntries(roles.map((role) => [role, spread(used.flatMap((result) => (result.cpu[role] ? [result.cpu[role].usPerRequest] : []))).median])),
      otherCores: spread(used.map((result) => result.machine.otherCores)).median,
      stealCores: spread(used.map((result) => result.machine.stealCores)).median,
      referenceWorkCpuMs: spread(used.map((result) => result.machine.referenceWorkCpuMs)).median,
      ...optional('predictionsPerWorkerCall', medianOf(used.map((result) => result.gateway?.predictionsPerWorkerCall))),
      ...optional('callsPerRuntimeCall', medianOf(used.map((result) => result.workerBatching?.callsPerRuntimeCall))),
    };
  });
}

/** A ratio or difference between two series, computed round by round (same round, so the same machine) over rounds where both were valid. */
export function paired(results: SeriesResult[], a: string, b: string, measure: (x: SeriesResult, y: SeriesResult) => number): Spread | undefined {
  const find = (key: string, round: number) => results.find((result) => `${result.id}@${result.load}` === key && result.round === round && result.valid);
  const rounds = [...new Set(results.map((result) => result.round))];
  const values = rounds.flatMap((round) => {
    const [x, y] = [find(a, round), find(b, round)];
    // NaN: a measure the round lacks (e.g. a thread reading /proc could not make).
    return x && y ? [measure(x, y)].filter((value) => !Number.isNaN(value)) : [];
  });
  return values.length === 0 ? undefined : spread(values);
}

/** Where one of the issue's goals stands. */
export interface GoalStanding {
  goal: string;
  target: string;
  measured: string;
  status: 'met' | 'not met' | 'not available';
  note?: string;
}

const cpuOf = (result: SeriesResult, role: string) => result.cpu[role]?.usPerRequest ?? Number.NaN;
/** CPU µs per request of the front's main thread (NaN when it was not measured). */
const mainThreadOf = (result: SeriesResult) => result.frontMainThread?.usPerRequest ?? Number.NaN;
const range = (value: Spread, digits: number, unit = '') =>
  value.rounds > 1 && value.min !== value.max ? `${value.median.toFixed(digits)}${unit} (${value.min.toFixed(digits)}–${value.max.toFixed(digits)})` : `${value.median.toFixed(digits)}${unit}`;

/**
 * The issue's goals, each from series of the same run. The gateway's full path is the one with
 * events on when that series exists and is valid, else events off (said in the note).
 */
export function goalStandings(results: SeriesResult[]): GoalStanding[] {
  const has = (key: string) => results.some((result) => `${result.id}@${result.load}` === key && result.valid);
  const gateway = has('gateway-full-events-on@saturation') ? 'gateway-full-events-on' : 'gateway-full-events-off';
  const gatewayNote = gateway === 'gateway-full-events-on' ? 'gateway with events on (Kafka)' : 'gateway with events off: the events-on series is not available or not valid';
  const standings: GoalStanding[] = [];
  const judge = (value: Spread | undefined, ok: (median: number) => boolean, goal: string, target: string, show: (value: Spread) => string, note?: string): void => {
    standings.push(
      value === undefined
        ? { goal, target, measured: '—', status: 'not available', note: note ?? 'a series it needs is missing or invalid in every round' }
        : { goal, target, measured: show(value), status: ok(value.median) ? 'met' : 'not met', ...(note === undefined ? {} : { note }) },
    );
  };

  const capacityRatio = (a: string, b: string) => paired(results, a, b, (x, y) => x.capacityPerS / y.capacityPerS);
  const withCapacity = (value: Spread, capacity: Spread | undefined) => `${range(value, 2, '×')}${capacity === undefined ? '' : `; CPU-bound estimate ${range(capacity, 2, '×')}`}`;
  const throughput = paired(results, `${gateway}@saturation`, 'naive-express-grpc@saturation', (x, y) => x.throughputPerS / y.throughputPerS);
  const throughputCapacity = capacityRatio(`${gateway}@saturation`, 'naive-express-grpc@saturation');
  judge(throughput, (median) => median >= 2, 'Gateway full path vs naive hop: throughput', '≥ 2×', (value) => withCapacity(value, throughputCapacity), gatewayNote);
  const p99 = paired(results, `${gateway}@saturation`, 'naive-express-grpc@saturation', (x, y) => x.latencyMs.p99 / y.latencyMs.p99);
  judge(p99, (median) => median <= 1, '… at equal or better p99', 'p99 ratio ≤ 1×', (value) => `${range(value, 2, '×')}`, gatewayNote);
  const cpu = paired(results, `${gateway}@saturation`, 'naive-express-grpc@saturation', (x, y) => cpuOf(x, 'front') / cpuOf(y, 'front'));
  judge(cpu, (median) => median <= 0.5, 'Gateway full path vs naive hop: CPU per request of the front process', '≤ 0.5×', (value) => `${range(value, 2, '×')}`, gatewayNote);
  const lightAdded = (load: 'light' | 'light-awake', goal: string): void => {
    const lightGateway = has(`${gateway}@${load}`) ? gateway : 'gateway-full-events-off';
    const added = paired(results, `${lightGateway}@${load}`, `worker-grpc@${load}`, (x, y) => x.latencyMs.p50 - y.latencyMs.p50);
    const naiveAdded = paired(results, `naive-express-grpc@${load}`, `worker-grpc@${load}`, (x, y) => x.latencyMs.p50 - y.latencyMs.p50);
    const plainHttp = summarise(results).find((summary) => summary.id === 'plain-http' && summary.load === load && summary.valid);
    judge(added, (median) => median <= 0.5, goal, '≤ 0.5 ms',
      (value) => `${range(value, 2, ' ms')}${naiveAdded === undefined ? '' : `; the naive hop adds ${range(naiveAdded, 2, ' ms')}`}${plainHttp === undefined ? '' : `; one HTTP request to a constant answer takes ${plainHttp.latencyMs.p50.toFixed(2)} ms p50 at the same rate`}`,
      lightGateway === 'gateway-full-events-on' ? 'gateway with events on (Kafka)' : 'gateway with events off');
  };
  lightAdded('light', 'Light load: p50 the gateway adds over a direct worker call');
  // The same comparison without this VM's idle-vCPU wake-ups: what the gateway's code and its extra hop cost.
  lightAdded('light-awake', '… the same with the vCPUs kept awake (a busy loop per CPU at idle priority)');
  const batching = paired(results, 'worker-grpc@saturation', 'worker-grpc-unbatched@saturation', (x, y) => x.throughputPerS / y.throughputPerS);
  const batchingCapacity = capacityRatio('worker-grpc@saturation', 'worker-grpc-unbatched@saturation');
  judge(batching, (median) => median >= 3, 'Worker batching on vs off: gRPC throughput, same callers', '≥ 3×', (value) => withCapacity(value, batchingCapacity),
    has('worker-grpc-unbatched@saturation') ? undefined : 'the batching-off series is not available or not valid');
  const kserve = paired(results, 'worker-grpc@saturation', 'kserve-grpc@saturation', (x, y) => x.throughputPerS / y.throughputPerS);
  const kserveCapacity = capacityRatio('worker-grpc@saturation', 'kserve-grpc@saturation');
  judge(kserve, (median) => median >= 3, 'Worker vs KServe Python server, gRPC throughput, same model', '≥ 3×', (value) => withCapacity(value, kserveCapacity));
  // The goal bounds the difference either way: events on (Kafka) faster than off would also say the two paths differ in cost.
  const events = paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', (x, y) => 1 - x.throughputPerS / y.throughputPerS);
  const eventsCapacity = paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', (x, y) => 1 - x.capacityPerS / y.capacityPerS);
  const percent = (value: Spread) => range({ ...value, median: value.median * 100, min: value.min * 100, max: value.max * 100 }, 1, ' %');
  const eventsMainThread = paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', (x, y) => mainThreadOf(x) / mainThreadOf(y) - 1);
  judge(events, (median) => Math.abs(median) <= 0.1, 'Events on vs off: throughput difference (positive: events on is slower)', '≤ 10 % either way',
    (value) => `${percent(value)}${eventsCapacity === undefined ? '' : `; CPU-bound estimate ${percent(eventsCapacity)}`}${eventsMainThread === undefined ? '' : `; the gateway's main thread: ${percent(eventsMainThread)} CPU per request`}`,
    has('gateway-full-events-on@saturation') ? undefined : 'the events-on series is not available or not valid');
  return standings;
}

/** The ratios the goals use, and a few more, for the JSON report. */
export function ratios(results: SeriesResult[]): Record<string, Spread | undefined> {
  const front = (x: SeriesResult, y: SeriesResult) => cpuOf(x, 'front') / cpuOf(y, 'front');
  const mainThread = (x: SeriesResult, y: SeriesResult) => mainThreadOf(x) / mainThreadOf(y);
  const total = (x: SeriesResult) => Object.entries(x.cpu).filter(([role]) => role !== 'loadGenerator').reduce((sum, [, use]) => sum + use.usPerRequest, 0);
  return {
    gatewayEventsOnVsNaiveThroughput: paired(results, 'gateway-full-events-on@saturation', 'naive-express-grpc@saturation', (x, y) => x.throughputPerS / y.throughputPerS),
    gatewayEventsOffVsNaiveThroughput: paired(results, 'gateway-full-events-off@saturation', 'naive-express-grpc@saturation', (x, y) => x.throughputPerS / y.throughputPerS),
    gatewayEventsOnVsNaiveFrontCpuPerRequest: paired(results, 'gateway-full-events-on@saturation', 'naive-express-grpc@saturation', front),
    gatewayEventsOffVsNaiveFrontCpuPerRequest: paired(results, 'gateway-full-events-off@saturation', 'naive-express-grpc@saturation', front),
    gatewayEventsOffVsNaiveAllServersCpuPerRequest: paired(results, 'gateway-full-events-off@saturation', 'naive-express-grpc@saturation', (x, y) => total(x) / total(y)),
    gatewayEventsOnP50AddedOverWorkerLightMs: paired(results, 'gateway-full-events-on@light', 'worker-grpc@light', (x, y) => x.latencyMs.p50 - y.latencyMs.p50),
    gatewayEventsOffP50AddedOverWorkerLightMs: paired(results, 'gateway-full-events-off@light', 'worker-grpc@light', (x, y) => x.latencyMs.p50 - y.latencyMs.p50),
    gatewayEventsOnP50AddedOverWorkerLightAwakeMs: paired(results, 'gateway-full-events-on@light-awake', 'worker-grpc@light-awake', (x, y) => x.latencyMs.p50 - y.latencyMs.p50),
    gatewayEventsOffP50AddedOverWorkerLightAwakeMs: paired(results, 'gateway-full-events-off@light-awake', 'worker-grpc@light-awake', (x, y) => x.latencyMs.p50 - y.latencyMs.p50),
    naiveP50AddedOverWorkerLightAwakeMs: paired(results, 'naive-express-grpc@light-awake', 'worker-grpc@light-awake', (x, y) => x.latencyMs.p50 - y.latencyMs.p50),
    gatewayEventsOnVsNaiveCapacity: paired(results, 'gateway-full-events-on@saturation', 'naive-express-grpc@saturation', (x, y) => x.capacityPerS / y.capacityPerS),
    eventsOnVsOffThroughputLost: paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', (x, y) => 1 - x.throughputPerS / y.throughputPerS),
    eventsOnVsOffCapacityLost: paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', (x, y) => 1 - x.capacityPerS / y.capacityPerS),
    eventsOnVsOffFrontCpuPerRequest: paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', front),
    eventsOnVsOffFrontMainThreadCpuPerRequest: paired(results, 'gateway-full-events-on@saturation', 'gateway-full-events-off@saturation', mainThread),
    gatewayEventsOnVsNaiveFrontMainThreadCpuPerRequest: paired(results, 'gateway-full-events-on@saturation', 'naive-express-grpc@saturation', mainThread),
    experimentVsNoExperimentFrontCpuPerRequest: paired(results, 'gateway-full-events-off@saturation', 'gateway-no-experiment@saturation', front),
    workerBatchingOnVsOffThroughput: paired(results, 'worker-grpc@saturation', 'worker-grpc-unbatched@saturation', (x, y) => x.throughputPerS / y.throughputPerS),
    workerBatchingOnVsOffWorkerCpuPerRequest: paired(results, 'worker-grpc@saturation', 'worker-grpc-unbatched@saturation', (x, y) => cpuOf(x, 'worker') / cpuOf(y, 'worker')),
    workerVsKServeGrpcThroughput: paired(results, 'worker-grpc@saturation', 'kserve-grpc@saturation', (x, y) => x.throughputPerS / y.throughputPerS),
    workerVsKServeGrpcCapacity: paired(results, 'worker-grpc@saturation', 'kserve-grpc@saturation', (x, y) => x.capacityPerS / y.capacityPerS),
    workerVsKServeGrpcCpuPerRequest: paired(results, 'worker-grpc@saturation', 'kserve-grpc@saturation', (x, y) => cpuOf(x, 'worker') / cpuOf(y, 'kserve')),
    gatewayV2VsKServeRestThroughput: paired(results, 'gateway-v2-rest@saturation', 'kserve-rest@saturation', (x, y) => x.throughputPerS / y.throughputPerS),
  };
}

/**
 * One series of the fronts benchmark: warm up, then measure a load run while reading the CPU
 * time of every process involved from /proc, and judge whether the run is valid.
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepCpusAwake, type AwakeCpus } from './awake-cpus.js';
import type { LoadKind } from './bench-settings.js';
import type { LatencyMs, LoadResult } from './load-result.js';
import { machineCpuMs, mainThreadCpuMs, processTreeCpuMs } from './process-cpu.js';
import { scrapeMetrics, sumOf, type MetricsScrape } from './prometheus-text.js';

/** Share of a fixed rate a light-load run must reach to count (the generator or the server kept up). */
const MIN_RATE_SHARE = 0.95;
/** Milliseconds to wait for a gateway's event spool to empty after a run. */
const EVENTS_DRAIN_TIMEOUT_MS = 60_000;
/** Milliseconds between two looks at the spool while waiting. */
const EVENTS_DRAIN_POLL_MS = 100;

/** SHA-256 digests of a 1 KiB buffer in the reference work. */
const REFERENCE_DIGESTS = 10_000;

/**
 * CPU milliseconds this process needs for a fixed piece of work (hashing), taken right before
 * each measured window. On a shared or virtualised machine the same work costs more CPU time
 * when the host is busy; a series with a high value ran on a slower machine.
 */
function referenceWorkCpuMs(): number {
  const buffer = Buffer.alloc(1024, 7);
  const before = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < REFERENCE_DIGESTS; i += 1) sink += createHash('sha256').update(buffer).digest()[0]!;
  const used = process.cpuUsage(before);
  return sink < 0 ? Number.NaN : (used.user + used.system) / 1000;
}

/** Microseconds on CLOCK_MONOTONIC: the clock of a V8 CPU profile's timestamps, in any process. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A process whose CPU a series reads, and what it is in the series. */
export interface MeasuredProcess {
  /** front, worker, features, kafka. */
  role: string;
  pid: number;
}

/** What to run for one series. */
export interface SeriesPlan {
  /** Stable key, e.g. gateway-full-events-on. */
  id: string;
  /** Human-readable name of what is measured. */
  front: string;
  load: LoadKind;
  processes: MeasuredProcess[];
  warmUp(): Promise<LoadResult>;
  measure(): Promise<LoadResult>;
  /** The gateway's /metrics, for enrichment failures, default outputs and events. */
  gatewayMetricsUrl?: string;
  /** True when every answered prediction must have produced an event. */
  expectEvents?: boolean;
  /** The worker's /metrics, for how many ModelInfer calls each runtime call carried. */
  workerMetricsUrl?: string;
}

/** CPU one process tree used during the measured window. */
export interface CpuUse {
  ms: number;
  usPerRequest: number;
}

/** What the gateway's own counters say about the measured window. */
export interface GatewayCounters {
  enrichmentFailures?: number;
  featureCacheHitRatio?: number;
  defaultOutputs?: number;
  eventsPublished?: number;
  eventsDropped?: number;
  /** Milliseconds after the load stopped until the event spool was empty. */
  eventsDrainMs?: number;
  /** Gateway batching: worker calls made, and predictions one call carried on average. */
  workerCalls?: number;
  predictionsPerWorkerCall?: number;
}

/** What the worker's own counters say about its batching in the measured window. */
export interface WorkerBatching {
  /** Model runtime calls made. */
  runtimeCalls: number;
  /** ModelInfer calls one runtime call carried on average (1 without batching). */
  callsPerRuntimeCall: number;
}

/** One measured series, everything raw enough to recompute the report. */
export interface SeriesResult {
  id: string;
  front: string;
  load: LoadKind;
  round: number;
  tool: LoadResult['tool'];
  valid: boolean;
  invalidReasons: string[];
  requests: number;
  failures: number;
  failureSample?: string;
  durationS: number;
  throughputPerS: number;
  targetRatePerS?: number;
  latencyMs: LatencyMs;
  /** By role (front, worker, features, kafka), plus the load generator. */
  cpu: Record<string, CpuUse>;
  /** The front's main thread alone (already counted in `cpu.front`): the thread a Node front's throughput is bound by. */
  frontMainThread?: CpuUse;
  /** Pid of each role's process, e.g. to match a front's CPU profile to its series. */
  pids: Record<string, number>;
  /** The load's window on the monotonic clock V8's CPU profiles use, microseconds. */
  monotonicWindowUs: { start: number; end: number };
  /**
   * Requests per second the machine's cores would serve if this series had them to itself and
   * were CPU-bound: cores × 10^6 / (CPU µs per request of every process in it, load generator
   * included). Other work on a shared machine moves throughput; it moves this far less.
   */
  capacityPerS: number;
  /**
   * Busy cores of the whole machine during the window; those of processes outside the series
   * (other agents, the bench itself); and cores the hypervisor stole from this machine.
   */
  machine: {
    busyCores: number;
    otherCores: number;
    stealCores: number;
    windowS: number;
    referenceWorkCpuMs: number;
    /** Cores the busy loops of a light-awake series used (not counted in `otherCores`). */
    awakeCores?: number;
  };
  loadAverage: { before: number[]; after: number[] };
  gateway?: GatewayCounters;
  workerBatching?: WorkerBatching;
  warmUp: { requests: number; failures: number };
}

/** Runs the warm-up and the measured run of `plan`; never throws for a bad run, it reports it as invalid. */
export async function measureSeries(plan: SeriesPlan, round: number): Promise<SeriesResult> {
  if (plan.load !== 'light-awake') return measureWith(plan, round, undefined);
  // From before the warm-up, so the processes measured settle with their vCPUs awake.
  const awake = await keepCpusAwake();
  try {
    return await measureWith(plan, round, awake);
  } finally {
    await awake.stop();
  }
}

async function measureWith(plan: SeriesPlan, round: number, awake: AwakeCpus | undefined): Promise<SeriesResult> {
  const warm = await plan.warmUp();
  // Events the warm-up queued must not be sent (and counted) inside the measured window.
  if (plan.gatewayMetricsUrl !== undefined) await waitForEmptySpool(plan.gatewayMetricsUrl);
  const metricsBefore = plan.gatewayMetricsUrl === undefined ? undefined : await scrapeMetrics(plan.gatewayMetricsUrl);
  const workerBefore = plan.workerMetricsUrl === undefined ? undefined : await scrapeMetrics(plan.workerMetricsUrl);
  const referenceWork = referenceWorkCpuMs();
  const loadBefore = loadavg();
  const startedAt = performance.now();
  const machineBefore = machineCpuMs();
  const awakeBefore = awake?.cpuMs() ?? 0;
  const cpuBefore = plan.processes.map((process) => processTreeCpuMs(process.pid));
  const frontPid = plan.processes.find((process) => process.role === 'front')?.pid;
  const mainBefore = frontPid === undefined ? Number.NaN : mainThreadCpuMs(frontPid);

  const loadStartUs = monotonicUs();
  const result = await plan.measure();
  const loadEndUs = monotonicUs();
  const loadStoppedAt = performance.now();
  // The spool's sending after the load stopped is part of what the requests cost: wait for it inside the CPU window.
  const drained = plan.gatewayMetricsUrl === undefined ? undefined : await waitForEmptySpool(plan.gatewayMetricsUrl);

  const cpuAfter = plan.processes.map((process) => processTreeCpuMs(process.pid));
  const mainAfter = frontPid === undefined ? Number.NaN : mainThreadCpuMs(frontPid);
  const machineAfter = machineCpuMs();
  const awakeMs = (awake?.cpuMs() ?? 0) - awakeBefore;
  const windowMs = performance.now() - startedAt;
  const metricsAfter = plan.gatewayMetricsUrl === undefined ? undefined : await scrapeMetrics(plan.gatewayMetricsUrl);
  const workerAfter = plan.workerMetricsUrl === undefined ? undefined : await scrapeMetrics(plan.workerMetricsUrl);

  const perRequest = (ms: number): CpuUse => ({ ms, usPerRequest: result.requests === 0 ? Number.NaN : (ms * 1000) / result.requests });
  const cpu: Record<string, CpuUse> = {};
  plan.processes.forEach((process, index) => {
    const used = cpuAfter[index]! - cpuBefore[index]!;
    cpu[process.role] = perRequest((cpu[process.role]?.ms ?? 0) + used);
  });
  cpu.loadGenerator = perRequest(result.generatorCpuMs);
  const usPerRequest = Object.values(cpu).reduce((sum, use) => sum + use.usPerRequest, 0);
  const busyMs = machineAfter.busy - machineBefore.busy;
  const seriesMs = Object.values(cpu).reduce((sum, use) => sum + use.ms, 0);

  const gateway = metricsBefore && metricsAfter ? gatewayCounters(metricsBefore, metricsAfter, drained === undefined || drained === null ? undefined : drained - loadStoppedAt) : undefined;
  const workerBatching = workerBefore && workerAfter ? batchingOf(workerBefore, workerAfter) : undefined;
  const invalidReasons = judge(plan, result, gateway, drained);
  return {
    id: plan.id,
    front: plan.front,
    load: plan.load,
    round,
    tool: result.tool,
    valid: invalidReasons.length === 0,
    invalidReasons,
    requests: result.requests,
    failures: result.failures,
    ...(result.failureSample === undefined ? {} : { failureSample: result.failureSample }),
    durationS: result.durationS,
    throughputPerS: result.throughputPerS,
    ...(result.targetRatePerS === undefined ? {} : { targetRatePerS: result.targetRatePerS }),
    latencyMs: result.latencyMs,
    cpu,
    ...(Number.isFinite(mainAfter - mainBefore) ? { frontMainThread: perRequest(mainAfter - mainBefore) } : {}),
    pids: Object.fromEntries(plan.processes.map((process) => [process.role, process.pid])),
    monotonicWindowUs: { start: loadStartUs, end: loadEndUs },
    capacityPerS: (cpus().length * 1e6) / usPerRequest,
    machine: {
      busyCores: busyMs / windowMs,
      otherCores: Math.max(0, busyMs - seriesMs - awakeMs) / windowMs,
      stealCores: (machineAfter.steal - machineBefore.steal) / windowMs,
      windowS: windowMs / 1000,
      referenceWorkCpuMs: referenceWork,
      ...(awake === undefined ? {} : { awakeCores: awakeMs / windowMs }),
    },
    loadAverage: { before: loadBefore, after: loadavg() },
    ...(gateway === undefined ? {} : { gateway }),
    ...(workerBatching === undefined ? {} : { workerBatching }),
    warmUp: { requests: warm.requests, failures: warm.failures },
  };
}

/** Why a run does not count; empty when it does. A run with errors is never reported as fast. */
function judge(plan: SeriesPlan, result: LoadResult, gateway: GatewayCounters | undefined, drained: number | null | undefined): string[] {
  const reasons: string[] = [];
  if (result.requests === 0) reasons.push('no request was answered');
  if (result.failures > 0) reasons.push(`${result.failures} of ${result.requests} requests failed (${result.failureSample ?? 'no sample'})`);
  if (result.targetRatePerS !== undefined && result.throughputPerS < MIN_RATE_SHARE * result.targetRatePerS) {
    reasons.push(`reached ${result.throughputPerS.toFixed(0)} of ${result.targetRatePerS} requests/s`);
  }
  if (gateway?.enrichmentFailures) reasons.push(`${gateway.enrichmentFailures} requests used default features (the feature source failed)`);
  if (gateway?.defaultOutputs) reasons.push(`${gateway.defaultOutputs} predictions answered with the default output`);
  if (gateway?.eventsDropped) reasons.push(`${gateway.eventsDropped} events dropped`);
  if (drained === null) reasons.push(`the event spool was not empty ${EVENTS_DRAIN_TIMEOUT_MS / 1000} s after the load stopped`);
  if (plan.expectEvents === true && gateway !== undefined) {
    if (gateway.eventsPublished === undefined) reasons.push('the gateway exposes no infermesh_events_published_total');
    else if (gateway.eventsPublished < result.requests) reasons.push(`${gateway.eventsPublished} events published for ${result.requests} answered predictions`);
  }
  return reasons;
}

/** How much a counter (or a histogram's _sum/_count) grew between two scrapes; undefined when the metric is absent. */
function growth(before: MetricsScrape, after: MetricsScrape, name: string, where: Record<string, string> = {}): number | undefined {
  const [a, b] = [sumOf(before, name, where), sumOf(after, name, where)];
  return b === undefined ? undefined : b - (a ?? 0);
}

/** Runtime calls and ModelInfer calls per runtime call from the worker's infermesh_worker_batch_requests histogram. */
function batchingOf(before: MetricsScrape, after: MetricsScrape): WorkerBatching | undefined {
  const runtimeCalls = growth(before, after, 'infermesh_worker_batch_requests_count');
  const calls = growth(before, after, 'infermesh_worker_batch_requests_sum');
  if (runtimeCalls === undefined || calls === undefined || runtimeCalls === 0) return undefined;
  return { runtimeCalls, callsPerRuntimeCall: calls / runtimeCalls };
}

function gatewayCounters(before: MetricsScrape, after: MetricsScrape, drainMs: number | undefined): GatewayCounters {
  const delta = (name: string, where: Record<string, string> = {}) => growth(before, after, name, where);
  const workerCalls = delta('infermesh_gateway_batch_requests_count');
  const batchedPredictions = delta('infermesh_gateway_batch_requests_sum');
  const hits = delta('infermesh_gateway_enrichment_cache_lookups_total', { result: 'hit' });
  const lookups = delta('infermesh_gateway_enrichment_cache_lookups_total');
  const counters: GatewayCounters = {
    enrichmentFailures: delta('infermesh_gateway_enrichment_failures_total'),
    featureCacheHitRatio: hits === undefined || !lookups ? undefined : hits / lookups,
    defaultOutputs: delta('infermesh_gateway_default_outputs_total'),
    eventsPublished: delta('infermesh_events_published_total'),
    eventsDropped: delta('infermesh_events_dropped_total'),
    // Only a gateway with a spool has anything to drain.
    eventsDrainMs: sumOf(after, 'infermesh_events_queued') === undefined ? undefined : drainMs,
    workerCalls,
    predictionsPerWorkerCall: workerCalls === undefined || batchedPredictions === undefined || workerCalls === 0 ? undefined : batchedPredictions / workerCalls,
  };
  return Object.fromEntries(Object.entries(counters).filter(([, value]) => value !== undefined)) as GatewayCounters;
}

/** Waits until the gateway's spool holds no event (or it exposes no spool); the time it emptied, or null on timeout. */
async function waitForEmptySpool(metricsUrl: string): Promise<number | null> {
  const deadline = performance.now() + EVENTS_DRAIN_TIMEOUT_MS;
  for (;;) {
    const queued = sumOf(await scrapeMetrics(metricsUrl), 'infermesh_events_queued');
    if (queued === undefined || queued === 0) return performance.now();
    if (performance.now() > deadline) return null;
    await sleep(EVENTS_DRAIN_POLL_MS);
  }
}

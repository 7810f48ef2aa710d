/**
 * `npm run bench -- fronts`: what a prediction costs through each front, measured side by side
 * in one run on the same infermesh worker (issue 12 item 1, issue 9's events on/off goal).
 *
 * Fronts: plain node:http answering a constant (the ceiling of any Node front); a naive express
 * handler making one grpc-js ModelInfer per request (the hop teams write by hand); the worker
 * called directly over gRPC; the infermesh gateway's full path (validation, cached enrichment
 * from a local feature service, a 2-variant Thompson experiment) with events on (Kafka) and off,
 * without an experiment, and its /v2 REST route; KServe's Python model server on the same ONNX
 * model. Saturation: wrk (HTTP) or ghz (gRPC) with 64 connections/callers. Light load: vegeta
 * (HTTP) or ghz at a fixed 200 requests/s. Every series reads the CPU time of each process from
 * /proc before and after, and is reported invalid if any answer was not a success.
 *
 * Durations and more: see bench/support/fronts/bench-settings.ts (BENCH_DURATION_S=3
 * BENCH_WARMUP_S=1 BENCH_ROUNDS=1 for a quick run). Writes docs/benchmarks/results/fronts.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFixtures } from '../test/fixtures/generate-fixtures.js';
import { ensureGhz, GHZ_VERSION } from '../test/infra/install-ghz.js';
import { KAFKA_VERSION } from '../test/infra/install-kafka.js';
import { ensureVegeta, VEGETA_VERSION } from '../test/infra/install-vegeta.js';
import { ensureWrk } from '../test/infra/install-wrk.js';
import { startKafka, type KafkaBroker } from '../test/infra/kafka-broker.js';
import { removeAtExit } from '../test/infra/managed-process.js';
import { ensureKServe, KSERVE_SERVER_SCRIPT, pinnedVersion } from './kserve/ensure-kserve.js';
import { isPartialRun, readBenchSettings } from './support/fronts/bench-settings.js';
import { compileFronts } from './support/fronts/compile-fronts.js';
import { cpuProfileMarkdown, pidOfProfileFile, summariseCpuProfile, type CpuProfile } from './support/fronts/cpu-profile-summary.js';
import { flameGraphSvg } from './support/fronts/flame-graph.js';
import { startCompiledFront, startWorker, workerHasBatching } from './support/fronts/front-launchers.js';
import {
  goalsTable,
  PROFILE_BEGIN,
  PROFILE_END,
  ratiosTable,
  replaceBetween,
  RESULTS_BEGIN,
  RESULTS_END,
  runParagraph,
  seriesTable,
} from './support/fronts/fronts-markdown.js';
import { frontsStages, type BenchEnvironment, type UnavailableSeries } from './support/fronts/fronts-stages.js';
import { goalStandings, ratios, summarise } from './support/fronts/fronts-summary.js';
import { detectGatewayEventSupport, writeGatewayRegistry } from './support/fronts/gateway-setup.js';
import { encodeModelInferRequest } from './support/fronts/ghz-load.js';
import type { SeriesResult } from './support/fronts/measure-series.js';
import { findPidByCommandLine, gitState, machineInfo, npmVersion } from './support/fronts/run-environment.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_FILE = join(ROOT, 'docs/benchmarks/results/fronts.json');
/** The document whose generated blocks a full (or profiled) run rewrites. */
const DOC_FILE = join(ROOT, 'docs/benchmarks.md');
/** The worker's model name, also KServe's, and the model every front's path names. */
const WORKER_MODEL = 'm';

const benchStartedAt = Date.now();
const log = (line: string) => process.stderr.write(`[fronts ${Math.round((Date.now() - benchStartedAt) / 1000)}s] ${line}\n`);
const settings = readBenchSettings();
/** True when the stage of this name is selected by BENCH_STAGES (all are by default). */
const selected = (stageName: string) => settings.stages.length === 0 || settings.stages.some((filter) => stageName.includes(filter));
if (settings.cpuProfileDir !== undefined) mkdirSync(settings.cpuProfileDir, { recursive: true });
const machine = machineInfo();
log(`settings ${JSON.stringify(settings)}; load average ${machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')}`);

// The gateway and worker run from the built CLI, so no TypeScript loader sits in a measured process.
log('building the CLI (tsc -b packages/cli)');
execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'packages/cli'], { cwd: ROOT, stdio: 'inherit' });
const tools = { wrk: await ensureWrk(log), vegeta: await ensureVegeta(log), ghz: await ensureGhz(log) };

const runDir = mkdtempSync(join(tmpdir(), 'bench-fronts-'));
removeAtExit(runDir);
const fixtures = writeFixtures(join(runDir, 'fixtures'));
const context = { runDir, frontsDir: compileFronts(join(runDir, 'fronts')) };
const events = detectGatewayEventSupport();
log(`gateway event options: ${JSON.stringify(events)}`);

let kafkaBroker: KafkaBroker | undefined;
let kafka: BenchEnvironment['kafka'] = { unavailable: 'BENCH_KAFKA=0' };
if (!selected('gateway, events on (Kafka)')) {
  kafka = { unavailable: 'not selected by BENCH_STAGES' };
} else if (settings.kafka && events.kafkaBrokers) {
  kafkaBroker = await startKafka();
  const pid = findPidByCommandLine(join(dirname(kafkaBroker.logDir), 'server.properties'));
  kafka = { brokers: kafkaBroker.brokers, pid, topicPrefix: `bench-${process.pid}-${Date.now()}.` };
} else if (settings.kafka) {
  kafka = { unavailable: 'the gateway does not accept --kafka-brokers yet (its --help lists no such option)' };
}

let kserve: BenchEnvironment['kserve'] = { unavailable: 'BENCH_KSERVE=0' };
if (settings.kserve && !selected('KServe Python model server')) {
  kserve = { unavailable: 'not selected by BENCH_STAGES' };
} else if (settings.kserve) {
  try {
    kserve = { python: await ensureKServe(log), script: KSERVE_SERVER_SCRIPT };
  } catch (error) {
    kserve = { unavailable: `KServe could not be installed: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}` };
  }
}

const workerBatching: BenchEnvironment['workerBatching'] = workerHasBatching()
  ? { available: true }
  : { unavailable: 'the worker has no batching yet (its --help lists no --max-batch-size)' };
const worker = await startWorker(context, 'infermesh worker', WORKER_MODEL, fixtures.logistic);
const featureService = await startCompiledFront(context, 'feature service', 'feature-service.js');
const registryDir = join(runDir, 'registry');
await writeGatewayRegistry(registryDir, WORKER_MODEL, `127.0.0.1:${worker.port}`, `http://127.0.0.1:${featureService.port}`);
const inferRequest = await encodeModelInferRequest({
  model_name: WORKER_MODEL,
  inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.5, 1, 2, 0.1] } }],
});

const env: BenchEnvironment = { settings, tools, context, worker, workerModel: WORKER_MODEL, modelPath: fixtures.logistic.path, modelSha256: fixtures.logistic.sha256, workerBatching, featureService, registryDir, inferRequest, events, kafka, kserve };
const stages = frontsStages(env).filter((stage) => selected(stage.name));
const results: SeriesResult[] = [];
/** Stages that failed in a round (a server that would not start, say): reported, and the run goes on. */
const stageErrors: { round: number; stage: string; error: string }[] = [];
const unavailable: UnavailableSeries[] = stages.flatMap((stage) => (stage.unavailable === undefined ? [] : stage.series.map((series) => ({ ...series, reason: stage.unavailable! }))));
const startedAt = Date.now();
try {
  for (let round = 1; round <= settings.rounds; round += 1) {
    for (const stage of stages) {
      if (stage.unavailable !== undefined) continue;
      log(`round ${round}/${settings.rounds}: ${stage.name}`);
      await stage.run(round, (result) => {
        results.push(result);
        const cpu = Object.entries(result.cpu)
          .map(([role, use]) => `${role} ${use.usPerRequest.toFixed(0)}${role === 'front' && result.frontMainThread !== undefined ? ` (main thread ${result.frontMainThread.usPerRequest.toFixed(0)})` : ''}`)
          .join(', ');
        const counters = result.gateway;
        const gatewayNote = counters === undefined ? '' : `; feature cache hits ${((counters.featureCacheHitRatio ?? Number.NaN) * 100).toFixed(0)} %, events ${counters.eventsPublished ?? '—'}, predictions per worker call ${counters.predictionsPerWorkerCall?.toFixed(1) ?? '—'}`;
        const workerNote = result.workerBatching === undefined ? '' : `; worker calls per model run ${result.workerBatching.callsPerRuntimeCall.toFixed(1)}`;
        log(
          `  ${result.id} @${result.load}: ${result.throughputPerS.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms; ` +
            `CPU µs/req ${cpu}; other load ${result.machine.otherCores.toFixed(2)} cores, stolen ${result.machine.stealCores.toFixed(2)} cores, reference work ${result.machine.referenceWorkCpuMs.toFixed(0)} ms${gatewayNote}${workerNote}${result.valid ? '' : `; INVALID: ${result.invalidReasons.join('; ')}`}`,
        );
      }).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        stageErrors.push({ round, stage: stage.name, error: message });
        log(`  ${stage.name} FAILED in round ${round}: ${message.split('\n')[0]}`);
      });
    }
  }
} finally {
  await featureService.process.stop();
  await worker.process.stop();
  await kafkaBroker?.stop();
}

const summaries = summarise(results);
const standings = goalStandings(results);
const report = {
  benchmark: 'fronts',
  date: new Date().toISOString(),
  durationOfRunS: Math.round((Date.now() - startedAt) / 1000),
  machine: { ...machine, loadAverageAtEnd: loadavg() },
  git: gitState(),
  settings,
  versions: {
    wrk: tools.wrk.version,
    ghz: GHZ_VERSION,
    vegeta: VEGETA_VERSION,
    kafka: kafkaBroker === undefined ? undefined : KAFKA_VERSION,
    kserve: 'unavailable' in kserve ? undefined : pinnedVersion('kserve'),
    onnxruntimePython: 'unavailable' in kserve ? undefined : pinnedVersion('onnxruntime'),
    onnxruntimeNode: npmVersion('onnxruntime-node'),
    express: npmVersion('express'),
    grpcJs: npmVersion('@grpc/grpc-js'),
    kafkajs: npmVersion('kafkajs'),
  },
  gatewayEventOptions: events,
  goals: standings,
  ratios: ratios(results),
  summaries,
  unavailable,
  stageErrors,
  series: results,
};
const tables = `${seriesTable(summaries, unavailable)}\n\n${goalsTable(standings)}\n\n${ratiosTable(report.ratios)}`;
console.log(`\n${tables}\n`);
for (const failure of stageErrors) console.log(`stage "${failure.stage}" failed in round ${failure.round}: ${failure.error}`);
const profileBlocks: string[] = [];
if (settings.cpuProfileDir !== undefined) {
  for (const file of readdirSync(settings.cpuProfileDir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(settings.cpuProfileDir, file), 'utf8')) as CpuProfile;
    // Only the measured saturation windows of the gateway's full path in the process the profile is of: no start-up, priming, warm-up or other route.
    const pid = pidOfProfileFile(file);
    const measured = results.filter((result) => result.load === 'saturation' && result.id.startsWith('gateway-full') && pid !== undefined && result.pids.front === pid);
    const summary = cpuProfileMarkdown(summariseCpuProfile(profile, undefined, measured.map((result) => result.monotonicWindowUs)));
    const window = measured.map((result) => `${result.id}@${result.load}`).join(', ') || 'the whole run (no series matched its pid)';
    log(`profile ${file}: ${window}`);
    if (measured.length > 0) {
      const series = measured.map((result) => `${result.front}: ${result.throughputPerS.toFixed(0)} req/s, front ${result.cpu.front?.usPerRequest.toFixed(0) ?? '—'} µs CPU per request`).join('; ');
      // One picture per series profiled; a profiled run writes it beside docs/benchmarks.md's profile block.
      // Node writes one profile per thread: 0 is the JavaScript main thread, others are worker threads (the Kafka sink's).
      const thread = file.split('.')[4] ?? '0';
      const threadName = thread === '0' ? 'main thread' : `worker thread ${thread}`;
      const flameGraphFile = `flame-graph-${measured.map((result) => result.id).join('-')}${thread === '0' ? '' : `-thread-${thread}`}.svg`;
      writeFileSync(join(dirname(RESULTS_FILE), flameGraphFile), flameGraphSvg(profile, `${threadName}: ${series}`, measured.map((result) => result.monotonicWindowUs)));
      profileBlocks.push(`Profile of ${new Date().toISOString().slice(0, 10)}, the gateway's ${threadName}, measured windows of ${series}.\n\n![Flame graph of the gateway's ${threadName}](benchmarks/results/${flameGraphFile})\n\n${summary}`);
    }
    writeFileSync(join(settings.cpuProfileDir, file.replace(/\.cpuprofile$/, '.md')), `${summary}\n`);
    console.log(`\n### CPU profile ${file}\n\n${summary}\n`);
  }
}
if (profileBlocks.length > 0) {
  writeFileSync(DOC_FILE, replaceBetween(readFileSync(DOC_FILE, 'utf8'), PROFILE_BEGIN, PROFILE_END, profileBlocks.join('\n\n')));
  console.log('profile summary written to docs/benchmarks.md');
}
if (isPartialRun(settings)) {
  console.log(`a partial or profiled run: docs/benchmarks/results/fronts.json and the results in docs/benchmarks.md left as they were (${report.durationOfRunS} s of measuring)`);
} else {
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(DOC_FILE, replaceBetween(readFileSync(DOC_FILE, 'utf8'), RESULTS_BEGIN, RESULTS_END, `${runParagraph(report)}\n\n${tables}`));
  console.log(`written to docs/benchmarks/results/fronts.json and docs/benchmarks.md (${report.durationOfRunS} s of measuring)`);
}

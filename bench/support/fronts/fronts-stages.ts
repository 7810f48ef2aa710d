/**
 * The series of the fronts benchmark, grouped in stages: a stage starts the front it measures,
 * runs its series (saturation, light load) and stops the front again. The worker, the feature
 * service and Kafka live across stages.
 */
import { join } from 'node:path';
import type { WrkInstall } from '../../../test/infra/install-wrk.js';
import { startCompiledFront, startGateway, startKServe, startWorker, PROTO_DIR, WORKER_BATCH_FLAG, type LaunchContext, type Served } from './front-launchers.js';
import { FULL_MODEL, kafkaEventArgs, ndjsonEventArgs, NO_EXPERIMENT_MODEL, RAW_MODEL, type GatewayEventSupport } from './gateway-setup.js';
import { runGhz } from './ghz-load.js';
import type { LoadResult } from './load-result.js';
import { measureSeries, type MeasuredProcess, type SeriesPlan, type SeriesResult } from './measure-series.js';
import { LOAD_KINDS, type BenchSettings, type LoadKind } from './bench-settings.js';
import { primeGateway } from './prime-gateway.js';
import { runVegeta } from './vegeta-load.js';
import { runWrk, USER_PLACEHOLDER, type HttpTarget } from './wrk-load.js';

/** Body of `POST /v1/models/{model}/predict`: an entity and three inputs (the fourth model input is an enriched feature). */
const PREDICT_BODY = `{"entity":{"userId":"${USER_PLACEHOLDER}"},"inputs":{"a":0.5,"b":1,"c":2}}`;
/** Body of `POST /v2/models/{model}/infer` (Open Inference Protocol REST, JSON). */
const INFER_BODY = `{"id":"${USER_PLACEHOLDER}","inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[0.5,1,2,0.1]}]}`;
const JSON_TYPE = 'application/json';

/** The load tools, installed. */
export interface LoadTools {
  wrk: WrkInstall;
  vegeta: string;
  ghz: string;
}

/** What every stage shares. */
export interface BenchEnvironment {
  settings: BenchSettings;
  tools: LoadTools;
  context: LaunchContext;
  /** The worker every front calls, with its default options (batching on when it has batching). */
  worker: Served & { metricsPort: number };
  /** The model name on the worker (and on KServe). */
  workerModel: string;
  /** The ONNX file both model servers load, and its digest (a second worker loads it too). */
  modelPath: string;
  modelSha256: string;
  /** Whether the worker can batch (and so be measured with batching off), or why not. */
  workerBatching: { available: true } | { unavailable: string };
  featureService: Served;
  registryDir: string;
  /** A serialised ModelInferRequest for ghz. */
  inferRequest: Buffer;
  events: GatewayEventSupport;
  /** Kafka for the events-on series, or why there is none. */
  kafka: { brokers: string[]; pid: number | undefined; topicPrefix: string } | { unavailable: string };
  /** The KServe venv's python and server script, or why there is none. */
  kserve: { python: string; script: string } | { unavailable: string };
}

/** A series that could not run here, and why. */
export interface UnavailableSeries {
  id: string;
  front: string;
  load: LoadKind;
  reason: string;
}

/** A stage: the series it would run, and how to run them in one round. */
export interface Stage {
  name: string;
  series: { id: string; front: string; load: LoadKind }[];
  /** Set when the stage cannot run here; its series are then reported as not available. */
  unavailable?: string;
  run(round: number, onResult: (result: SeriesResult) => void): Promise<void>;
}

type SeriesLoad = Pick<SeriesPlan, 'warmUp' | 'measure' | 'load'>;

function httpSaturation(env: BenchEnvironment, target: HttpTarget): SeriesLoad {
  const { connections, wrkThreads: threads, warmUpS, durationS } = env.settings;
  return {
    load: 'saturation',
    warmUp: () => runWrk(env.tools.wrk, target, { connections, threads, durationS: warmUpS }),
    measure: () => runWrk(env.tools.wrk, target, { connections, threads, durationS }),
  };
}

/** The light rate; `light-awake` is the same load, measured while the vCPUs are kept awake (see measure-series.ts). */
function httpLight(env: BenchEnvironment, target: HttpTarget, load: Exclude<LoadKind, 'saturation'> = 'light'): SeriesLoad {
  const { lightRatePerS, warmUpS, durationS } = env.settings;
  return {
    load,
    warmUp: () => runVegeta(env.tools.vegeta, target, lightRatePerS, warmUpS),
    measure: () => runVegeta(env.tools.vegeta, target, lightRatePerS, durationS),
  };
}

/** Every HTTP load a front's main series runs: saturation, light, and light with the vCPUs awake. */
function httpLoads(env: BenchEnvironment, target: HttpTarget): SeriesLoad[] {
  return LOAD_KINDS.map((load) => (load === 'saturation' ? httpSaturation(env, target) : httpLight(env, target, load)));
}

/** The series a front's main measurement gives: one per load kind, in the order httpLoads runs them. */
function everyLoad(id: string, front: string): Stage['series'] {
  return LOAD_KINDS.map((load) => ({ id, front, load }));
}

function grpcLoad(env: BenchEnvironment, address: string, load: LoadKind): SeriesLoad {
  const { connections, lightConcurrency, lightRatePerS, warmUpS, durationS } = env.settings;
  const shape = load === 'saturation' ? { concurrency: connections, connections: 1 } : { concurrency: lightConcurrency, connections: 1, ratePerS: lightRatePerS };
  const run = (seconds: number): Promise<LoadResult> => runGhz(env.tools.ghz, address, env.inferRequest, { ...shape, durationS: seconds });
  return { load, warmUp: () => run(warmUpS), measure: () => run(durationS) };
}

function target(env: BenchEnvironment, port: number, path: string, body: string): HttpTarget {
  return { baseUrl: `http://127.0.0.1:${port}`, path, bodyTemplate: body, contentType: JSON_TYPE, users: env.settings.users };
}

/** Starts a front, runs `plans(front)` one by one, and stops the front even when a series throws. */
async function withFront<S extends Served>(env: BenchEnvironment, start: () => Promise<S>, plans: (front: S) => SeriesPlan[], round: number, onResult: (result: SeriesResult) => void): Promise<void> {
  const front = await start();
  try {
    for (const plan of plans(front).filter((candidate) => env.settings.loads.includes(candidate.load))) onResult(await measureSeries(plan, round));
  } finally {
    await front.process.stop();
  }
}

/** Starts a gateway and fills its feature cache for every entity id of `models` (see prime-gateway.ts). */
async function startPrimedGateway(env: BenchEnvironment, name: string, args: readonly string[], models: readonly string[]): Promise<Served> {
  const gateway = await startGateway(env.context, name, env.registryDir, args, env.settings.cpuProfileDir);
  try {
    for (const model of models) await primeGateway(gateway.port, `/v1/models/${model}/predict`, PREDICT_BODY, env.settings.users);
  } catch (error) {
    await gateway.process.stop();
    throw error;
  }
  return gateway;
}

/** What a predict stage measures, apart from the load: the series and what each of its measurements also records. */
interface PredictStage {
  name: string;
  id: string;
  front: string;
  /** The model whose `/v1/models/{model}/predict` the load posts to. */
  model: string;
  unavailable?: string;
  start(): Promise<Served>;
  /** The processes whose CPU is measured, the metrics read and whether events are expected, given the started front. */
  measured(front: Served): Omit<SeriesPlan, 'id' | 'front' | 'load' | 'warmUp' | 'measure'>;
}

/** A stage that starts an HTTP front and measures its /v1 predict under every HTTP load. */
function predictStage(env: BenchEnvironment, stage: PredictStage): Stage {
  return {
    name: stage.name,
    series: everyLoad(stage.id, stage.front),
    ...(stage.unavailable === undefined ? {} : { unavailable: stage.unavailable }),
    run: (round, onResult) =>
      withFront(
        env,
        () => stage.start(),
        (front) => {
          const to = target(env, front.port, `/v1/models/${stage.model}/predict`, PREDICT_BODY);
          const common = { id: stage.id, front: stage.front, ...stage.measured(front) };
          return httpLoads(env, to).map((load) => ({ ...common, ...load }));
        },
        round,
        onResult,
      ),
  };
}

/** Every stage, in the order they run within a round: the naive hop, the gateway with events on and off back to back, so the pairs compared see the same machine. */
export function frontsStages(env: BenchEnvironment): Stage[] {
  const worker: MeasuredProcess = { role: 'worker', pid: env.worker.process.pid };
  const features: MeasuredProcess = { role: 'features', pid: env.featureService.process.pid };
  const frontOf = (served: Served): MeasuredProcess => ({ role: 'front', pid: served.process.pid });
  const workerAddress = `127.0.0.1:${env.worker.port}`;
  const workerMetrics = { workerMetricsUrl: `http://127.0.0.1:${env.worker.metricsPort}/metrics` };
  const batchingAvailable = !('unavailable' in env.workerBatching);
  const workerFront = `infermesh worker, direct gRPC ModelInfer (ghz)${batchingAvailable ? ', batching on (default)' : ''}`;
  const unbatchedFront = `infermesh worker, direct gRPC ModelInfer (ghz), batching off (${WORKER_BATCH_FLAG} 1)`;
  const eventsLabel = env.events.kafkaBrokers || env.events.eventsDir ? 'events off (NDJSON files, the embedded default)' : 'no events (this gateway has no event publisher yet)';
  const expectEvents = env.events.kafkaBrokers || env.events.eventsDir;
  const kafkaArgs = 'unavailable' in env.kafka ? undefined : kafkaEventArgs(env.events, env.kafka.brokers, join(env.context.runDir, 'spool-kafka'), env.kafka.topicPrefix);
  const kafkaUnavailable = 'unavailable' in env.kafka ? env.kafka.unavailable : kafkaArgs === undefined ? 'the gateway does not accept --kafka-brokers yet (its --help lists no such option)' : undefined;
  const kafkaProcess: MeasuredProcess[] = 'unavailable' in env.kafka || env.kafka.pid === undefined ? [] : [{ role: 'kafka', pid: env.kafka.pid }];
  const kserve = env.kserve;

  const fullOn = 'gateway /v1 predict: validation, enrichment (cached), 2-variant Thompson experiment, events on (Kafka)';
  const fullOff = `gateway /v1 predict: validation, enrichment (cached), 2-variant Thompson experiment, ${eventsLabel}`;
  const noExperiment = `gateway /v1 predict without an experiment: validation, enrichment (cached), ${eventsLabel}`;
  const v2Rest = 'gateway /v2 infer (Open Inference REST; no enrichment, no experiment)';
  return [
    // At light load as well: what one HTTP request costs in latency on this machine, with the same client as the gateway's light series.
    predictStage(env, {
      name: 'plain node:http',
      id: 'plain-http',
      front: 'plain node:http answering a constant',
      model: env.workerModel,
      start: () => startCompiledFront(env.context, 'plain node:http', 'plain-http-front.js'),
      measured: (front) => ({ processes: [frontOf(front), worker] }),
    }),
    {
      name: 'worker, direct gRPC',
      series: everyLoad('worker-grpc', workerFront),
      run: async (round, onResult) => {
        for (const load of env.settings.loads) {
          onResult(await measureSeries({ id: 'worker-grpc', front: workerFront, processes: [worker], ...workerMetrics, ...grpcLoad(env, workerAddress, load) }, round));
        }
      },
    },
    {
      name: 'worker, batching off',
      series: [{ id: 'worker-grpc-unbatched', front: unbatchedFront, load: 'saturation' }],
      ...('unavailable' in env.workerBatching ? { unavailable: env.workerBatching.unavailable } : {}),
      run: (round, onResult) =>
        withFront(
          env,
          () => startWorker(env.context, 'infermesh worker, batching off', env.workerModel, { path: env.modelPath, sha256: env.modelSha256 }, [WORKER_BATCH_FLAG, '1']),
          (served) => [
            {
              id: 'worker-grpc-unbatched',
              front: unbatchedFront,
              processes: [{ role: 'worker', pid: served.process.pid }],
              workerMetricsUrl: `http://127.0.0.1:${served.metricsPort}/metrics`,
              ...grpcLoad(env, `127.0.0.1:${served.port}`, 'saturation'),
            },
          ],
          round,
          onResult,
        ),
    },
    predictStage(env, {
      name: 'naive express + grpc-js',
      id: 'naive-express-grpc',
      front: 'naive express + one grpc-js ModelInfer per request',
      model: env.workerModel,
      start: () => startCompiledFront(env.context, 'naive express front', 'naive-express-front.js', [workerAddress, PROTO_DIR]),
      measured: (front) => ({ processes: [frontOf(front), worker], ...workerMetrics }),
    }),
    predictStage(env, {
      name: 'gateway, events on (Kafka)',
      id: 'gateway-full-events-on',
      front: fullOn,
      model: FULL_MODEL,
      ...(kafkaUnavailable === undefined ? {} : { unavailable: kafkaUnavailable }),
      start: () => startPrimedGateway(env, 'gateway events-on', kafkaArgs ?? [], [FULL_MODEL]),
      measured: (front) => ({ processes: [frontOf(front), worker, features, ...kafkaProcess], gatewayMetricsUrl: `http://127.0.0.1:${front.port}/metrics`, ...workerMetrics, expectEvents: true }),
    }),
    {
      name: 'gateway, events off',
      series: [
        ...everyLoad('gateway-full-events-off', fullOff),
        { id: 'gateway-no-experiment', front: noExperiment, load: 'saturation' },
        { id: 'gateway-v2-rest', front: v2Rest, load: 'saturation' },
      ],
      run: (round, onResult) =>
        withFront(
          env,
          () => startPrimedGateway(env, 'gateway events-off', ndjsonEventArgs(env.events, join(env.context.runDir, 'events-ndjson'), join(env.context.runDir, 'spool-ndjson')), [FULL_MODEL, NO_EXPERIMENT_MODEL]),
          (front) => {
            const metrics = { gatewayMetricsUrl: `http://127.0.0.1:${front.port}/metrics`, ...workerMetrics };
            const full = target(env, front.port, `/v1/models/${FULL_MODEL}/predict`, PREDICT_BODY);
            const enrichedProcesses = [frontOf(front), worker, features];
            return [
              ...httpLoads(env, full).map((load) => ({ id: 'gateway-full-events-off', front: fullOff, processes: enrichedProcesses, ...metrics, expectEvents, ...load })),
              { id: 'gateway-no-experiment', front: noExperiment, processes: enrichedProcesses, ...metrics, expectEvents, ...httpSaturation(env, target(env, front.port, `/v1/models/${NO_EXPERIMENT_MODEL}/predict`, PREDICT_BODY)) },
              { id: 'gateway-v2-rest', front: v2Rest, processes: [frontOf(front), worker], ...metrics, ...httpSaturation(env, target(env, front.port, `/v2/models/${RAW_MODEL}/infer`, INFER_BODY)) },
            ];
          },
          round,
          onResult,
        ),
    },
    {
      name: 'KServe Python model server',
      series: [
        { id: 'kserve-grpc', front: 'KServe Python model server (onnxruntime), gRPC ModelInfer (ghz)', load: 'saturation' },
        { id: 'kserve-rest', front: 'KServe Python model server (onnxruntime), /v2 infer REST', load: 'saturation' },
      ],
      ...('unavailable' in kserve ? { unavailable: kserve.unavailable } : {}),
      run: async (round, onResult) => {
        if ('unavailable' in kserve || !env.settings.loads.includes('saturation')) return;
        const server = await startKServe(env.context, kserve.python, kserve.script, env.workerModel, env.modelPath);
        const kserveProcess: MeasuredProcess = { role: 'kserve', pid: server.process.pid };
        try {
          onResult(await measureSeries({ id: 'kserve-grpc', front: 'KServe Python model server (onnxruntime), gRPC ModelInfer (ghz)', processes: [kserveProcess, worker], ...grpcLoad(env, `127.0.0.1:${server.grpcPort}`, 'saturation') }, round));
          onResult(
            await measureSeries(
              { id: 'kserve-rest', front: 'KServe Python model server (onnxruntime), /v2 infer REST', processes: [kserveProcess, worker], ...httpSaturation(env, target(env, server.port, `/v2/models/${env.workerModel}/infer`, INFER_BODY)) },
              round,
            ),
          );
        } finally {
          await server.process.stop();
        }
      },
    },
  ];
}

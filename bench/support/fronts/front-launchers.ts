/** Starts each process the fronts benchmark measures, on free loopback ports, from built JavaScript only. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, freePorts } from '../../../test/infra/free-port.js';
import { startBenchProcess, type BenchProcess } from './bench-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The CLI as `npm run build` leaves it: the gateway and worker run without a TypeScript loader. */
export const CLI_MAIN = join(ROOT, 'packages', 'cli', 'dist', 'main.js');
/** The repository's proto/ directory. */
export const PROTO_DIR = join(ROOT, 'proto');

/** Where a bench run keeps its scratch files and finds its compiled fronts. */
export interface LaunchContext {
  /** Scratch directory: logs, registry, spools, event files; the processes' working directory. */
  runDir: string;
  /** bench/fronts/*.ts compiled to JavaScript (see compile-fronts.ts). */
  frontsDir: string;
}

/** A started server and where to reach it. */
export interface Served {
  process: BenchProcess;
  port: number;
}

/** The model's version the worker serves: fixed, it is never reloaded during the bench. */
const MODEL_VERSION = 'v1';

/** The worker's flag that bounds (and with 1 switches off) its batching of concurrent ModelInfer calls. */
export const WORKER_BATCH_FLAG = '--max-batch-size';

/** True when the built worker lists WORKER_BATCH_FLAG in its --help (its batching may not be built yet). */
export function workerHasBatching(): boolean {
  return execFileSync(process.execPath, [CLI_MAIN, 'worker', '--help'], { encoding: 'utf8' }).includes(WORKER_BATCH_FLAG);
}

/** `infermesh worker` serving the ONNX model as `model`, with `extraArgs` (batching options). */
export async function startWorker(
  context: LaunchContext,
  name: string,
  model: string,
  artifact: { path: string; sha256: string },
  extraArgs: readonly string[] = [],
): Promise<Served & { metricsPort: number }> {
  const [port, metricsPort] = await freePorts(2);
  const server = await startBenchProcess({
    name,
    command: process.execPath,
    args: [CLI_MAIN, 'worker', '--model', model, '--version', MODEL_VERSION, '--artifact', artifact.path, '--sha256', artifact.sha256,
      '--host', '127.0.0.1', '--port', String(port), '--metrics-host', '127.0.0.1', '--metrics-port', String(metricsPort), ...extraArgs],
    cwd: context.runDir,
    logFile: join(context.runDir, `${name.replace(/\W+/g, '-')}.log`),
    ready: { logContains: '"msg":"worker serving"' },
  });
  return { process: server, port: port!, metricsPort: metricsPort! };
}

/**
 * `infermesh gateway` reading model configs from `registryDir`, with `extraArgs` (event options);
 * under `node --cpu-prof` when `cpuProfileDir` is given (the profile is written when it exits).
 */
export async function startGateway(context: LaunchContext, name: string, registryDir: string, extraArgs: readonly string[], cpuProfileDir?: string): Promise<Served> {
  const port = await freePort();
  // Node's default profile name carries the pid (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile), which ties it to its series.
  const profile = cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`];
  const server = await startBenchProcess({
    name,
    command: process.execPath,
    args: [...profile, CLI_MAIN, 'gateway', '--host', '127.0.0.1', '--port', String(port), '--registry-dir', registryDir,
      // A fixed key: without one the gateway warns and signs with a random per-process key; the cost is the same.
      '--feedback-keys', 'bench:6d6f64656c2d62656e63682d6b65792d6f662d33322d627974657321', '--shutdown-grace-ms', '2000', ...extraArgs],
    cwd: context.runDir,
    logFile: join(context.runDir, `${name.replace(/\W+/g, '-')}.log`),
    ready: { logContains: '"msg":"gateway ready"' },
  });
  return { process: server, port };
}

/** One of the bench's own programs from bench/fronts (compiled), given a port first and then `args`. */
export async function startCompiledFront(context: LaunchContext, name: string, file: string, args: readonly string[] = []): Promise<Served> {
  const port = await freePort();
  const server = await startBenchProcess({
    name,
    command: process.execPath,
    args: [join(context.frontsDir, file), String(port), ...args],
    cwd: context.runDir,
    logFile: join(context.runDir, `${file}.log`),
    ready: { logContains: 'listening on' },
  });
  return { process: server, port };
}

/** KServe's Python model server (bench/kserve/onnx_model_server.py) on an HTTP and a gRPC port. */
export async function startKServe(context: LaunchContext, python: string, script: string, model: string, modelPath: string): Promise<Served & { grpcPort: number }> {
  const [httpPort, grpcPort] = await freePorts(2);
  const server = await startBenchProcess({
    name: 'KServe model server',
    command: python,
    args: [script, '--model_name', model, '--model_path', modelPath, '--http_port', String(httpPort), '--grpc_port', String(grpcPort),
      '--enable_latency_logging', 'false', '--quiet_request_logs'],
    cwd: context.runDir,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    logFile: join(context.runDir, 'kserve.log'),
    ready: { probe: async () => (await fetch(`http://127.0.0.1:${httpPort}/v2/models/${model}/ready`)).ok },
  });
  return { process: server, port: httpPort!, grpcPort: grpcPort! };
}

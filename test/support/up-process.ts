import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, LOOPBACK_HOST } from '../infra/free-port.js';
import { eventually } from './load-generator.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How the tests start the CLI: this checkout's sources through tsx, as the mesh's own children then run. */
export const CLI_ARGS = ['--import', 'tsx', '--conditions=source', join(ROOT, 'packages/cli/src/main.ts')];
/** Worker b listens this far above worker a; each worker's metrics port is its gRPC port + 1 (packages/cli/src/up/mesh-plan.ts). */
export const UP_WORKER_PORT_STEP = 10;
/** Milliseconds `infermesh up` may take to serve: its processes compile TypeScript on a shared machine. */
export const UP_TIMEOUT_MS = 180_000;
/** The line `infermesh up` prints last once the mesh serves. */
const READY_LINE = /^Ctrl-C stops the mesh/m;

/** Whether a TCP port is free on loopback right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK_HOST, () => server.close(() => resolve(true)));
  });
}

/** A worker port p with p, p + 1, p + 10 and p + 11 free: the four ports `infermesh up --worker-port p` binds. */
export async function freeWorkerPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await freePort();
    if (port + UP_WORKER_PORT_STEP + 1 > 65_535) continue;
    const others = [port + 1, port + UP_WORKER_PORT_STEP, port + UP_WORKER_PORT_STEP + 1];
    if ((await Promise.all(others.map(canListen))).every(Boolean)) return port;
  }
  throw new Error('no run of free ports for the workers');
}

/** The environment without anything that would point a mesh at a Consul, Kafka or registry of the developer running the tests. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    const keep = name === 'INFERMESH_CACHE_DIR' || name.startsWith('INFERMESH_TEST_');
    if (name === 'CONSUL_HTTP_ADDR' || name === 'CONSUL_HTTP_TOKEN' || name === 'KAFKA_BROKERS' || (name.startsWith('INFERMESH_') && !keep)) delete env[name];
  }
  return env;
}

/** A running `infermesh up`. */
export interface UpProcess {
  readonly process: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Ctrl-C, as a user stops it; resolves with its exit code once it and its servers are gone. */
  stop(): Promise<number | null>;
}

/** Starts `infermesh up <args>` (from the repository root, in its own process group) and resolves once it printed its commands. */
export async function startUp(args: readonly string[], env: NodeJS.ProcessEnv): Promise<UpProcess> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'up', ...args], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A test process that dies must not leave a mesh behind.
  const killGroup = () => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL');
  process.once('exit', killGroup);
  const up: UpProcess = {
    process: child,
    output: () => output,
    stop: async () => {
      process.removeListener('exit', killGroup);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
  };
  try {
    await eventually('infermesh up to print its commands', () => {
      if (child.exitCode !== null) throw new Error(`infermesh up exited with code ${child.exitCode}:\n${output}`);
      return READY_LINE.test(output);
    }, UP_TIMEOUT_MS, 200);
  } catch (error) {
    await up.stop();
    throw error;
  }
  return up;
}

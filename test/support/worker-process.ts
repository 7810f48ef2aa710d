import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI_MAIN = 'packages/cli/src/main.ts';
/** Milliseconds a worker or gateway process may take to serve: tsx compiles on start, and CI machines are shared. */
const START_TIMEOUT_MS = 60_000;

/** A server (worker or gateway) started as its own process through the real CLI. */
export interface WorkerProcess {
  address: string;
  port: number;
  metricsPort: number;
  process: ChildProcess;
  /** Every log line written so far. */
  logs: string[];
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<number | null>;
}

/** Result of a CLI run that ended on its own. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: readonly string[]): ChildProcess {
  // Each server writes its events and spool under its own directory (a flag given in args wins):
  // test processes run side by side, and an events directory or spool belongs to one process.
  const own = mkdtempSync(join(tmpdir(), 'infermesh-events-'));
  return spawn(process.execPath, ['--import', 'tsx', '--conditions=source', CLI_MAIN, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      INFERMESH_LOG_LEVEL: process.env.INFERMESH_LOG_LEVEL ?? 'info',
      INFERMESH_EVENTS_DIR: process.env.INFERMESH_EVENTS_DIR ?? join(own, 'events'),
      INFERMESH_EVENTS_SPOOL_DIR: process.env.INFERMESH_EVENTS_SPOOL_DIR ?? join(own, 'spool'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Runs `infermesh <args>` to completion. With `timeoutMs`, a process still running then is
 * killed (SIGKILL) and reported with `timedOut: true`: for tests whose failure mode is a hang.
 */
export function runCli(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CliResult & { timedOut?: boolean }> {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), options.timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    }),
  );
}

/**
 * Starts `infermesh worker` on free loopback ports and waits until it serves, or until it
 * logs `until` (after the line naming its ports), e.g. 'following deployment'.
 */
export async function startWorkerProcess(args: readonly string[], options: { until?: string } = {}): Promise<WorkerProcess> {
  const listening = 'worker listening; loading model';
  return startServerProcess(['worker', '--host', '127.0.0.1', '--port', '0', '--metrics-host', '127.0.0.1', '--metrics-port', '0', ...args], listening, options.until ?? 'worker serving');
}

/** Starts `infermesh gateway` on a free loopback port and waits until its model configs are read. */
export async function startGatewayProcess(args: readonly string[]): Promise<WorkerProcess> {
  return startServerProcess(['gateway', '--host', '127.0.0.1', '--port', '0', ...args], 'gateway listening', 'gateway ready');
}

/** Starts `infermesh aggregate` with its metrics on a free loopback port and waits until the group assigned it partitions. */
export async function startAggregatorProcess(args: readonly string[]): Promise<WorkerProcess> {
  return startServerProcess(['aggregate', '--metrics-host', '127.0.0.1', '--metrics-port', '0', ...args], 'aggregator listening', 'aggregator ready');
}

/** Starts a CLI server and resolves once `readyMessage` follows `listeningMessage` (which carries the ports). */
async function startServerProcess(args: readonly string[], listeningMessage: string, readyMessage: string): Promise<WorkerProcess> {
  const child = spawnCli(args);
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  const ports = new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A process that did not start must not outlive the test that waited for it.
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start within ${START_TIMEOUT_MS} ms:\n${logs.join('\n')}`));
    }, START_TIMEOUT_MS);
    let listening: { port: number; metricsPort: number } | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      const entry = JSON.parse(line) as { msg?: string; port?: number; metricsPort?: number };
      if (entry.msg === listeningMessage) listening = { port: entry.port!, metricsPort: entry.metricsPort ?? entry.port! };
      if (entry.msg === readyMessage && listening) {
        clearTimeout(timer);
        resolve(listening);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before serving:\n${logs.join('\n')}`));
    });
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const { port, metricsPort } = await ports;
  return {
    address: `127.0.0.1:${port}`,
    port,
    metricsPort,
    process: child,
    logs,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

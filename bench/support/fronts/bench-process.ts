/** A server the bench starts (worker, gateway, a front, KServe): its pid for /proc, its log, stop(). */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAtExit } from '../../../test/infra/managed-process.js';

/** Milliseconds a server may take to become ready: the machine is shared and Python imports are slow. */
export const START_TIMEOUT_MS = 90_000;

/** Milliseconds a server gets to exit after SIGTERM before SIGKILL. */
export const STOP_TIMEOUT_MS = 15_000;

/** Milliseconds between two readiness checks. */
const READY_POLL_MS = 100;

/** Lines of the log quoted when a start fails. */
const LOG_TAIL_LINES = 25;

/** How to start one server and how to know it serves. */
export interface BenchProcessSpec {
  /** Short name for messages, e.g. "gateway (events off)". */
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Stdout and stderr go here (a file, like a production log, not a pipe the bench must drain). */
  logFile: string;
  /** Ready once the log contains this text, or once `probe` resolves true. */
  ready: { logContains: string } | { probe: () => Promise<boolean> };
}

/** A running server. */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts the server and resolves once it is ready; throws with its log's tail if it exits or times out first. */
export async function startBenchProcess(spec: BenchProcessSpec): Promise<BenchProcess> {
  // The log is appended across restarts (one per round): readiness reads only what this start wrote.
  const logOffset = existsSync(spec.logFile) ? statSync(spec.logFile).size : 0;
  const fd = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const forget = killAtExit(child);
  let exitCode: number | string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      forget();
      resolve();
    });
    child.once('error', (error) => {
      exitCode = error.message;
      forget();
      resolve();
    });
  });
  const stop = async () => {
    if (exitCode !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${spec.name} exited during start-up (${exitCode}):\n${logTail(spec.logFile)}`);
    if (await isReady(spec, logOffset)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.name} was not ready within ${START_TIMEOUT_MS} ms:\n${logTail(spec.logFile)}`);
    }
    await sleep(READY_POLL_MS);
  }
  if (child.pid === undefined) throw new Error(`${spec.name} has no pid`);
  return { name: spec.name, pid: child.pid, logFile: spec.logFile, stop };
}

async function isReady(spec: BenchProcessSpec, logOffset: number): Promise<boolean> {
  if ('logContains' in spec.ready) return readLogFrom(spec.logFile, logOffset).includes(spec.ready.logContains);
  try {
    return await spec.ready.probe();
  } catch {
    return false;
  }
}

/** The log's text from byte `offset` on (what one start wrote so far). */
function readLogFrom(logFile: string, offset: number): string {
  const fd = openSync(logFile, 'r');
  try {
    const length = Math.max(0, statSync(logFile).size - offset);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, read).toString();
  } finally {
    closeSync(fd);
  }
}

function readLog(logFile: string): Buffer {
  try {
    return readFileSync(logFile);
  } catch {
    return Buffer.alloc(0);
  }
}

/** The last lines of a server's log, for error messages. */
export function logTail(logFile: string, lines = LOG_TAIL_LINES): string {
  return readLog(logFile).toString().trimEnd().split('\n').slice(-lines).join('\n');
}

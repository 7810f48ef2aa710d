import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Milliseconds a process gets to exit after SIGTERM before it is killed with SIGKILL. */
export const STOP_TIMEOUT_MS = 15_000;

/** Lines of a process's log quoted in a start-up error. */
export const LOG_TAIL_LINES = 30;

/** Milliseconds between two readiness probes. */
const READY_POLL_INTERVAL_MS = 200;

/** What a server process is and where its output goes. */
export interface ManagedProcessSpec {
  /** Short name for error messages, e.g. "consul". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Stdout and stderr are appended here, also across restarts. */
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** How a process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it could not be spawned (e.g. "spawn java ENOENT"), if that is how it ended. */
  readonly spawnError?: string;
}

const liveChildren = new Set<ChildProcess>();
const exitCleanups = new Set<() => void>();
let exitHooksInstalled = false;

/** Runs `cleanup` synchronously when the test process exits, however it exits short of SIGKILL. */
export function onProcessExit(cleanup: () => void): () => void {
  installExitHooks();
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
  };
}

/** Kills `child` with SIGKILL if this process exits first; call the returned function once the child has exited. */
export function killAtExit(child: ChildProcess): () => void {
  installExitHooks();
  liveChildren.add(child);
  return () => {
    liveChildren.delete(child);
  };
}

/** A long-running child (an agent, a broker) that can be stopped and started again and never outlives this process. */
export class ManagedProcess {
  readonly spec: ManagedProcessSpec;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitStatus> | undefined;
  #exitStatus: ExitStatus | undefined;

  constructor(spec: ManagedProcessSpec) {
    this.spec = spec;
  }

  /** True from start() until the process has exited. */
  get running(): boolean {
    return this.#child !== undefined && this.#exitStatus === undefined;
  }

  /** How the last run ended, or undefined while it runs (or before the first start). */
  get exitStatus(): ExitStatus | undefined {
    return this.#exitStatus;
  }

  /** Spawns the process; its output goes straight to the log file so no pipe keeps this process alive. */
  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    installExitHooks();
    const fd = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, [...this.spec.args], {
        cwd: this.spec.cwd,
        env: this.spec.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    this.#exitStatus = undefined;
    liveChildren.add(child);
    this.#exited = new Promise<ExitStatus>((resolve) => {
      const settle = (status: ExitStatus): void => {
        liveChildren.delete(child);
        if (this.#child === child) this.#exitStatus = status;
        resolve(status);
      };
      child.once('exit', (code, signal) => settle({ code, signal }));
      // A missing executable reports 'error' and never 'exit'.
      child.once('error', (error) => settle({ code: null, signal: null, spawnError: error.message }));
    });
    // An idle server must not keep the test process alive; stop() re-refs while it waits.
    child.unref();
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process has exited. */
  async stop(timeoutMs: number = STOP_TIMEOUT_MS): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (child === undefined || exited === undefined || !this.running) return;
    child.ref();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Polls `probe` until it returns true; fails early if the process exits and late after `timeoutMs`, quoting the log. */
  async waitUntilReady(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      const status = this.#exitStatus;
      if (status !== undefined) {
        throw await this.startError(`exited during start-up (${describeExit(status)})`);
      }
      try {
        if (await probe()) return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) {
        const reason = lastError instanceof Error ? `; last probe error: ${lastError.message}` : '';
        await this.stop();
        throw await this.startError(`was not ready within ${timeoutMs} ms${reason}`);
      }
      await sleep(READY_POLL_INTERVAL_MS);
    }
  }

  /** For run-once tools: starts the process and resolves when it exits with code 0, throwing with the log's tail otherwise. */
  async runToCompletion(timeoutMs: number): Promise<void> {
    this.start();
    const exited = this.#exited;
    if (exited === undefined) throw new Error(`${this.spec.name} did not start`);
    this.#child?.ref();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      await this.stop();
      throw await this.startError(`did not finish within ${timeoutMs} ms`);
    }
    if (outcome.code !== 0) throw await this.startError(`failed (${describeExit(outcome)})`);
  }

  /** The last `lines` lines of the log file, or a note that it could not be read. */
  async logTail(lines: number = LOG_TAIL_LINES): Promise<string> {
    try {
      const text = await readFile(this.spec.logFile, 'utf8');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch (error) {
      return `(log ${this.spec.logFile} unreadable: ${String(error)})`;
    }
  }

  private async startError(reason: string): Promise<Error> {
    const tail = await this.logTail();
    return new Error(
      `${this.spec.name} ${reason}\ncommand: ${this.spec.command} ${this.spec.args.join(' ')}\n` +
        `last ${LOG_TAIL_LINES} lines of ${this.spec.logFile}:\n${tail}`,
    );
  }
}

function describeExit(status: ExitStatus): string {
  return status.spawnError ?? `code ${status.code}, signal ${status.signal}`;
}

/** Removes a directory at process exit (temporary data and build dirs); the returned function cancels that. */
export function removeAtExit(dir: string): () => void {
  return onProcessExit(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', runExitCleanups);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runExitCleanups();
      process.off(signal, onSignal);
      // Only re-raise when nobody else handles the signal, so we restore the default (exit) without overriding a host's own handler.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function runExitCleanups(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is going away and has nowhere to report it.
    }
  }
  exitCleanups.clear();
}

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAtExit, onProcessExit, removeAtExit } from './managed-process.js';

/** Milliseconds between two "still working" lines during a long install, so a silent build never looks hung. */
export const HEARTBEAT_INTERVAL_MS = 30_000;

/** Milliseconds between two checks of another process's install lock. */
const LOCK_POLL_INTERVAL_MS = 1_000;

/** Lines of a failed command's log quoted in its error. */
const FAILURE_TAIL_LINES = 40;

/** Receives one human-readable progress line. */
export type ProgressLog = (line: string) => void;

/** Default progress sink: stderr, so test reporters on stdout stay clean. */
export const stderrLog: ProgressLog = (line) => process.stderr.write(`${line}\n`);

/** Thrown when a toolchain an install needs (go, java, mvn) is not on PATH, or too old. */
export class MissingToolchainError extends Error {
  constructor(tool: string, hint: string, problem = 'was not found on PATH') {
    super(`${tool} ${problem}: ${hint}`);
    this.name = 'MissingToolchainError';
  }
}

/** Runs `command args` and returns its trimmed output, or throws MissingToolchainError with `hint` if it cannot run. */
export function requireTool(command: string, args: readonly string[], hint: string): string {
  const result = spawnSync(command, [...args], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) throw new MissingToolchainError(command, hint);
  // Maven colours its banner even when asked for batch mode.
  return `${result.stdout}${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '').trim();
}

/** Elapsed time since `startedAt` as "1m05s" or "42s". */
export function formatElapsed(startedAt: number): string {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

/** Compares dotted numeric versions ("1.25.8"); a missing part counts as 0, a suffix like "rc1" is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string): number[] => version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const [left, right] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** What installOnce installs and how. */
export interface InstallOnceOptions {
  /** For progress lines, e.g. "consul 1.22.6". */
  readonly name: string;
  /** Final path (file or directory); its existence means "installed". */
  readonly target: string;
  readonly log: ProgressLog;
  /** Produces the artefact at `partialPath` (same directory as target, so the final rename is atomic). */
  readonly build: (partialPath: string) => Promise<void>;
}

/**
 * Installs `target` unless it exists: one process builds under a lock file while others wait,
 * and the result appears by a rename, so an interrupted build never leaves a half-made target.
 * A build it made is logged with its duration.
 */
export async function installOnce(options: InstallOnceOptions): Promise<{ built: boolean }> {
  const { name, target, log } = options;
  if (existsSync(target)) return { built: false };
  const startedAt = Date.now();
  await mkdir(dirname(target), { recursive: true });
  const lockPath = `${target}.lock`;
  await acquireLock(lockPath, name, log);
  // A killed installer releases its lock on the way out; one that could not (SIGKILL) is detected as stale.
  const unregisterLock = onProcessExit(() => rmSync(lockPath, { force: true }));
  try {
    if (existsSync(target)) return { built: false };
    await removeLeftovers(target);
    const partialPath = `${target}.partial-${process.pid}-${Date.now()}`;
    try {
      await options.build(partialPath);
      try {
        await rename(partialPath, target);
      } catch (error) {
        // Only a racing installer (one that judged our lock stale) can have put it there; its copy is as good.
        if (!existsSync(target)) throw error;
      }
    } finally {
      await rm(partialPath, { recursive: true, force: true });
    }
    log(`${name}: installed at ${target} in ${formatElapsed(startedAt)}`);
    return { built: true };
  } finally {
    unregisterLock();
    await rm(lockPath, { force: true });
  }
}

/**
 * Runs `work` in a fresh scratch directory under the OS temp dir (`<prefix>XXXXXX`), which is
 * removed afterwards, and also at exit should the process be killed meanwhile: an install's
 * downloads and build output never land in the repo nor outlive it.
 */
export async function inScratchDir<T>(prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const unregister = removeAtExit(dir);
  try {
    return await work(dir);
  } finally {
    unregister();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deletes partial builds of `target` that an interrupted install left behind (we hold the lock, so none is live). */
async function removeLeftovers(target: string): Promise<void> {
  const prefix = `${basename(target)}.partial-`;
  const leftovers = (await readdir(dirname(target))).filter((name) => name.startsWith(prefix));
  await Promise.all(leftovers.map((name) => rm(join(dirname(target), name), { recursive: true, force: true })));
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

async function acquireLock(lockPath: string, name: string, log: ProgressLog): Promise<void> {
  const startedAt = Date.now();
  let lastHeartbeat = startedAt;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      await handle.writeFile(JSON.stringify(owner));
      await handle.close();
      return;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const owner = await readLockOwner(lockPath);
    if (owner !== undefined && isStale(owner)) {
      log(`${name}: removing stale install lock of dead process ${owner.pid}`);
      await rm(lockPath, { force: true });
      continue;
    }
    if (!announced) {
      log(`${name}: another process (${owner === undefined ? 'unknown' : `pid ${owner.pid}`}) is installing it; waiting`);
      announced = true;
    }
    if (Date.now() - lastHeartbeat >= HEARTBEAT_INTERVAL_MS) {
      log(`${name}: still waiting for the other install, ${formatElapsed(startedAt)} elapsed`);
      lastHeartbeat = Date.now();
    }
    await sleep(LOCK_POLL_INTERVAL_MS);
  }
}

async function readLockOwner(lockPath: string): Promise<LockOwner | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(lockPath, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { pid, host, since } = parsed as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof since !== 'string') return undefined;
    return { pid, host, since };
  } catch {
    // Being written right now, or just removed: treat as live and look again.
    return undefined;
  }
}

function isStale(owner: LockOwner): boolean {
  // A lock from another host (a shared cache dir) cannot be checked; trust it.
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return isErrno(error, 'ESRCH');
  }
}

/** A command whose output goes to a log file while progress lines report elapsed time. */
export interface ProgressCommand {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly log: ProgressLog;
  /** Optional detail for the heartbeat line, computed from the output so far (e.g. packages compiled). */
  readonly describeProgress?: (outputLines: number) => string;
}

/** Runs a long command, logging a heartbeat every HEARTBEAT_INTERVAL_MS; on failure throws with the log's tail. */
export async function runWithProgress(spec: ProgressCommand): Promise<void> {
  const startedAt = Date.now();
  const out = createWriteStream(spec.logFile, { flags: 'a' });
  let outputLines = 0;
  const child = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A build must not go on as an orphan when the installing process is killed.
  const forget = killAtExit(child);
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      out.write(chunk);
      for (const byte of chunk) if (byte === 0x0a) outputLines += 1;
    });
  }
  const heartbeat = setInterval(() => {
    const detail = spec.describeProgress?.(outputLines);
    spec.log(`${spec.name}: still running, ${formatElapsed(startedAt)} elapsed${detail ? ` (${detail})` : ''}`);
  }, HEARTBEAT_INTERVAL_MS);
  let exitCode: number | null;
  try {
    exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(signal === null ? code : null));
    });
  } finally {
    forget();
    clearInterval(heartbeat);
    await new Promise<void>((resolve) => out.end(resolve));
  }
  if (exitCode !== 0) {
    const text = await readFile(spec.logFile, 'utf8').catch(() => '');
    const tail = text.trimEnd().split('\n').slice(-FAILURE_TAIL_LINES).join('\n');
    throw new Error(`${spec.name} failed (exit ${exitCode}) after ${formatElapsed(startedAt)}: ${spec.command} ${spec.args.join(' ')}\n${tail}\n(full log: ${spec.logFile})`);
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

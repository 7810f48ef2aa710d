import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ServerPlan } from './mesh-plan.js';

/** Milliseconds a server may take to say it serves. */
export const SERVER_START_TIMEOUT_MS = 120_000;
/** Last log lines shown when a server fails. */
const TAIL_LINES = 15;

/** A server of the mesh running as a child process of `infermesh up`. */
export interface ChildServer {
  name: string;
  process: ChildProcess;
  logFile: string;
  /** The last lines it logged. */
  tail(): string[];
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
}

/**
 * Starts `infermesh <args>` the way this process was started (same Node flags and entry
 * point), with its JSON log in `<logsDir>/<name>.log`, and resolves once it logs its ready
 * message; rejects with the log's tail if it exits or times out first.
 */
export async function startChildServer(server: ServerPlan, logsDir: string): Promise<ChildServer> {
  mkdirSync(logsDir, { recursive: true });
  const logFile = join(logsDir, `${server.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...server.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const remember = (line: string) => {
    log.write(`${line}\n`);
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
  };
  createInterface({ input: child.stderr! }).on('line', remember);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const handle: ChildServer = { name: server.name, process: child, logFile, tail: () => [...lines], exited };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.name} did not start within ${SERVER_START_TIMEOUT_MS / 1000} s; see ${logFile}`)), SERVER_START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      if (line.includes(`"msg":"${server.readyMessage}"`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${server.name} exited with code ${code} before it served:\n${lines.join('\n')}`));
    });
  });
  return handle;
}

/** SIGTERM to every server still running, then waits for all of them. */
export async function stopChildServers(servers: readonly ChildServer[]): Promise<void> {
  for (const server of servers) if (server.process.exitCode === null) server.process.kill('SIGTERM');
  await Promise.all(servers.map((server) => server.exited));
}

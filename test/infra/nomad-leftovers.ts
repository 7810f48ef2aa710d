import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Root of the cgroup hierarchies. */
const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Cgroups a Nomad 1.10 client creates and never removes: `/nomad` under each cgroup v1 controller it uses
 * (hard-coded there; `client.cgroup_parent` is not applied), `nomad.slice` on cgroup v2.
 */
const NOMAD_CGROUP_ROOTS = [
  ...['cpu', 'cpuset', 'freezer', 'memory'].map((controller) => join(CGROUP_ROOT, controller, 'nomad')),
  join(CGROUP_ROOT, 'nomad.slice'),
];

/** Environment variable set on a test agent; go-plugin passes the agent's environment on to its task executors. */
export const NOMAD_AGENT_MARKER_ENV = 'INFERMESH_NOMAD_AGENT';

/**
 * SIGKILLs what a test agent may have left running: its executors (they carry the marker in their environment)
 * and its raw_exec tasks (their working directory lies in the agent's work dir). Synchronous, for exit hooks.
 * A SIGKILLed agent never stops its tasks, and executors are started so that they outlive the agent.
 */
export function killAgentLeftovers(workDir: string): number[] {
  const marker = `${NOMAD_AGENT_MARKER_ENV}=${workDir}\0`;
  const killed: number[] = [];
  for (const pid of otherPids()) {
    if (!readProc(pid, 'environ').includes(marker) && !cwdOf(pid).startsWith(`${workDir}/`)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** Milliseconds between two looks at whether killed processes are gone. */
const EXIT_POLL_INTERVAL_MS = 50;

/**
 * Resolves once every pid has exited (a zombie counts as exited: it holds no cgroup), or after `timeoutMs`.
 * SIGKILL is asynchronous: a cgroup still holds a process that was just killed, and rmdir would refuse it.
 */
export async function waitUntilExited(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const alive = (pid: number): boolean => {
    const stat = readProc(pid, 'stat');
    // The state follows the parenthesised command name: "123 (node) Z ...".
    return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  };
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_INTERVAL_MS));
}

/**
 * Lazily unmounts whatever is mounted below `dir`, deepest first: as root, Nomad mounts a tmpfs on each task's
 * secrets dir and only unmounts it when it destroys the allocation, which a SIGKILLed agent never does.
 */
export function unmountUnder(dir: string): void {
  const mountPoints = readProc(process.pid, 'mounts')
    .split('\n')
    // /proc/*/mounts escapes spaces and the like as octal: \040.
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mountPoints) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
}

/**
 * Removes the empty cgroups Nomad leaves behind, deepest first, unless another Nomad agent runs on this machine
 * (the `/nomad` parent is shared by every agent, and one that is starting may not have populated it yet).
 * rmdir refuses a cgroup that still has processes or children, so nothing in use can be removed.
 */
export function tidyNomadCgroups(): void {
  if (anotherNomadAgentIsRunning()) return;
  for (const root of NOMAD_CGROUP_ROOTS) removeEmptyCgroups(root);
}

function removeEmptyCgroups(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) removeEmptyCgroups(join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {
    // Busy (a live task or child cgroup) or not ours to remove: leave it.
  }
}

function anotherNomadAgentIsRunning(): boolean {
  return otherPids().some((pid) => {
    const [command, subcommand] = readProc(pid, 'cmdline').split('\0');
    return command !== undefined && basename(command).startsWith('nomad') && subcommand === 'agent';
  });
}

function otherPids(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  return names.filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => pid !== process.pid);
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return '';
  }
}

function cwdOf(pid: number): string {
  try {
    // A deleted cwd reads "<path> (deleted)": the prefix test still matches it, which is what we want.
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

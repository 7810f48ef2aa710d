/**
 * CPU time from /proc, in milliseconds: of a process and its descendants, of this process's
 * reaped children (the load generators), and of the whole machine. Linux only.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second when `getconf CLK_TCK` cannot say (every mainstream Linux uses 100). */
const DEFAULT_CLOCK_TICKS_PER_SECOND = 100;

/** Clock ticks per second of /proc's time fields. */
export const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number.parseInt(result.stdout ?? '', 10);
  return result.status === 0 && ticks > 0 ? ticks : DEFAULT_CLOCK_TICKS_PER_SECOND;
}

const MS_PER_TICK = 1000 / CLOCK_TICKS_PER_SECOND;

/** The fields of /proc/<pid>/stat the bench reads. */
interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, ticks: the process's threads and its children already reaped. */
  ticks: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so fields are counted from the last ')'. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14), man 5 proc.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
  return { ppid: Number(fields[1]), ticks };
}

/** CPU milliseconds used so far by `pid` and every live descendant (children it reaped are in its own count). */
export function processTreeCpuMs(pid: number): number {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const stat = readStat(child);
    if (stat !== undefined) stats.set(child, stat);
  }
  const children = new Map<number, number[]>();
  for (const [child, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), child]);
  let ticks = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop()!;
    ticks += stats.get(current)?.ticks ?? 0;
    pending.push(...(children.get(current) ?? []));
  }
  return ticks * MS_PER_TICK;
}

/**
 * CPU milliseconds used so far by the main thread of `pid` alone (its JavaScript thread, for a
 * Node process): what bounds its throughput when other threads (GC, a worker thread) have cores of their own.
 */
export function mainThreadCpuMs(pid: number): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * MS_PER_TICK;
}

/** CPU milliseconds of this process's children that have exited and been reaped (the load generators, after each run). */
export function reapedChildrenCpuMs(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13] ?? 0) + Number(fields[14] ?? 0)) * MS_PER_TICK;
}

/** CPU milliseconds of the whole machine so far, all cores together: busy (everything but idle and iowait), and stolen by the hypervisor. */
export function machineCpuMs(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user/nice].
  const busy = values.slice(0, 7).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
  return { busy: busy * MS_PER_TICK, steal: (values[7] ?? 0) * MS_PER_TICK };
}

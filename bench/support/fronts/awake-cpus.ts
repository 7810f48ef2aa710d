import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants, cpus, setPriority } from 'node:os';
import { killAtExit } from '../../../test/infra/managed-process.js';
import { processTreeCpuMs } from './process-cpu.js';

/** A Node process that spins forever: it never sleeps, so the vCPU it runs on never halts. */
const SPIN_SCRIPT = 'for (;;) {}';

/** Busy loops that keep every vCPU from going idle, each at the lowest priority the kernel has. */
export interface AwakeCpus {
  readonly pids: readonly number[];
  /** How the loops were deprioritised: SCHED_IDLE (chrt) or, without chrt, nice 19. */
  readonly policy: 'SCHED_IDLE' | 'nice 19';
  /** CPU milliseconds the loops have used so far: time no measured process wanted. */
  cpuMs(): number;
  /** Kills the loops and waits until they have exited. */
  stop(): Promise<void>;
}

/**
 * Starts one busy loop per CPU at idle priority. On a VM whose idle vCPUs halt, every wake-up
 * of a process on a halted vCPU costs the hypervisor's wake-up latency (about a millisecond here);
 * loops that never sleep keep the vCPUs running, and at SCHED_IDLE they yield at once to any
 * runnable process, so they take only time nothing else wanted — what a machine tuned for latency
 * (idle=poll, a busy-polling runtime) would look like, without changing the processes measured.
 */
export async function keepCpusAwake(count: number = cpus().length): Promise<AwakeCpus> {
  // chrt may be missing, or the kernel may refuse the policy: try it once on a process that exits at once.
  const policy: AwakeCpus['policy'] = spawnSync('chrt', ['--idle', '0', 'true'], { stdio: 'ignore' }).status === 0 ? 'SCHED_IDLE' : 'nice 19';
  const loops: ChildProcess[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const loop =
        policy === 'SCHED_IDLE'
          ? await started(spawn('chrt', ['--idle', '0', process.execPath, '-e', SPIN_SCRIPT], { stdio: 'ignore' }))
          : await started(spawn(process.execPath, ['-e', SPIN_SCRIPT], { stdio: 'ignore' }));
      loops.push(loop);
      // A loop must never outlive the bench (Ctrl-C, a crash): it would spin on a shared machine forever.
      killAtExit(loop);
      if (policy === 'nice 19') setPriority(loop.pid!, constants.priority.PRIORITY_LOW);
    }
  } catch (error) {
    await stopAll(loops);
    throw error;
  }
  return {
    pids: loops.map((loop) => loop.pid!),
    policy,
    cpuMs: () => loops.reduce((sum, loop) => sum + processTreeCpuMs(loop.pid!), 0),
    stop: () => stopAll(loops),
  };
}

/** The child once it is running; rejects when it could not be spawned. */
async function started(child: ChildProcess): Promise<ChildProcess> {
  await once(child, 'spawn');
  return child;
}

async function stopAll(loops: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    loops.map(async (loop) => {
      if (loop.exitCode !== null || loop.signalCode !== null) return;
      const exited = once(loop, 'exit');
      loop.kill('SIGKILL');
      await exited;
    }),
  );
}

import { readFileSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InfermeshError } from '../../errors/infermesh-error.js';

/** Name of the lock file in a locked directory. */
export const LOCK_FILE_NAME = 'owner.lock';

/** What a lock file records about its holder. */
interface LockRecord {
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux), so a reused pid is not mistaken for the holder. */
  startTicks?: string;
  host: string;
  acquiredAt: string;
}

/** Start time of process `pid` from /proc (field 22 of its stat line), or undefined off Linux or when it is gone. */
function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(record: LockRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const ticks = processStartTicks(record.pid);
  return record.startTicks === undefined || ticks === undefined || ticks === record.startTicks;
}

/**
 * An exclusive claim on a directory by one process on this host: a second process (or a second
 * publisher in the same process) fails fast; the lock of a process that died is taken over.
 * Processes in other containers or hosts sharing the directory are not detected.
 */
export class DirectoryLock {
  private constructor(
    private readonly path: string,
    private readonly content: string,
  ) {}

  /** Claims `dir` (which must exist); `what` names the directory's role in the error message. */
  static async acquire(dir: string, what: string): Promise<{ lock: DirectoryLock; tookOverFrom?: number }> {
    const path = join(dir, LOCK_FILE_NAME);
    const record: LockRecord = { pid: process.pid, host: hostname(), acquiredAt: new Date().toISOString() };
    const ticks = processStartTicks(process.pid);
    if (ticks !== undefined) record.startTicks = ticks;
    const content = `${JSON.stringify(record)}\n`;
    try {
      await writeFile(path, content, { flag: 'wx' });
      return { lock: new DirectoryLock(path, content) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(path);
    if (holder !== undefined && isAlive(holder)) {
      const who = holder.pid === process.pid ? 'another publisher in this process' : `process ${holder.pid}`;
      throw new InfermeshError('INVALID_CONFIG', `${what} ${dir} is in use by ${who} (lock file ${path}); give each process its own directory`, {
        details: { dir, pid: holder.pid },
      });
    }
    // Replace atomically: a reader never sees a half-written lock.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, content);
    await rename(temporary, path);
    return holder === undefined ? { lock: new DirectoryLock(path, content) } : { lock: new DirectoryLock(path, content), tookOverFrom: holder.pid };
  }

  /** Gives the directory up, unless someone else took the lock over meanwhile. */
  async release(): Promise<void> {
    const current = await readFile(this.path, 'utf8').catch(() => undefined);
    if (current === this.content) await unlink(this.path).catch(() => undefined);
  }
}

async function readHolder(path: string): Promise<LockRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockRecord>;
    return typeof parsed.pid === 'number' ? (parsed as LockRecord) : undefined;
  } catch {
    // Empty or garbled: a holder that died while writing it.
    return undefined;
  }
}

import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfermeshError } from '../errors/infermesh-error.js';
import type { KvChange, KvEntry, KvPrefixChange, KvStore, WaitOptions } from './kv-store.js';

/** Milliseconds between checks of a watched file. */
export const FILE_POLL_INTERVAL_MS = 200;
/** Milliseconds a writer waits for another writer's lock before giving up. */
const LOCK_TIMEOUT_MS = 5_000;
/** A lock older than this many milliseconds was left by a crashed writer. */
const STALE_LOCK_MS = 30_000;
const LOCK_SUFFIX = '.lock';
const TEMP_SUFFIX = '.tmp';

/**
 * Index of an absent key or an empty prefix. Not 0: index 0 asks "what is there now?" and is
 * answered at once (as Consul does), so a watcher of an empty registry starts at once and then
 * blocks on this index like on any other.
 */
const NOTHING_INDEX = 1;

/** Index of a value: a 48-bit digest of its content, so equal content means unchanged. */
function indexOf(value: string): number {
  return Number.parseInt(createHash('sha256').update(value).digest('hex').slice(0, 12), 16) || 1;
}

/** A file's identity and last change as stat reports them: equal stamps, same content. */
function stampOf(stats: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/**
 * The registry as a directory: each key is a file holding its value, readable and editable
 * by hand. Compare-and-set takes a lock file so concurrent CLI processes cannot both win;
 * waits poll the file, which works on every filesystem (fs.watch does not). A poll stats each
 * file and reads only those whose stamp changed, so a quiet registry costs a stat per key.
 */
export class FileKvStore implements KvStore {
  readonly description: string;
  /** The last value read of each file, with the stamp it had. */
  private readonly reads = new Map<string, { stamp: string; entry: KvEntry }>();

  constructor(
    private readonly root: string,
    private readonly pollIntervalMs = FILE_POLL_INTERVAL_MS,
  ) {
    this.description = `directory ${root}`;
  }

  private pathOf(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new InfermeshError('INVALID_ARGUMENT', `invalid registry key '${key}'`);
    return join(this.root, ...key.split('/'));
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const path = this.pathOf(key);
    try {
      const stamp = stampOf(await stat(path));
      const known = this.reads.get(path);
      if (known?.stamp === stamp) return known.entry;
      const value = await readFile(path, 'utf8');
      const entry = { key, value, index: indexOf(value) };
      // A write between the stat and the read leaves a stamp older than the value: the next poll reads again.
      this.reads.set(path, { stamp, entry });
      return entry;
    } catch (error) {
      this.reads.delete(path);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<KvEntry[]> {
    const entries = await Promise.all((await this.keys(prefix)).map((key) => this.get(key)));
    return entries.filter((entry): entry is KvEntry => entry !== undefined);
  }

  async keys(prefix: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root, { recursive: true, encoding: 'utf8' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const keys = names
      .map((name) => relative(this.root, join(this.root, name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix) && !key.endsWith(LOCK_SUFFIX) && !key.endsWith(TEMP_SUFFIX));
    // Directories are not keys: keep only what get() would find.
    const files = await Promise.all(keys.map((key) => stat(join(this.root, ...key.split('/'))).then((info) => info.isFile(), () => false)));
    return keys.filter((_, position) => files[position]).sort();
  }

  async compareAndDelete(key: string, index: number): Promise<boolean> {
    const path = this.pathOf(key);
    const release = await this.lock(path).catch((error: unknown) => {
      // No directory for the lock: the key is not there.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    });
    if (release === undefined) return true;
    try {
      const current = await this.get(key);
      if (current === undefined) return true;
      if (current.index !== index) return false;
      await rm(path, { force: true });
      this.reads.delete(path);
      return true;
    } finally {
      await release();
    }
  }

  async compareAndSet(key: string, value: string, index: number): Promise<boolean> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const release = await this.lock(path);
    try {
      const current = await this.get(key);
      if ((current?.index ?? 0) !== index) return false;
      const temp = `${path}.${process.pid}${TEMP_SUFFIX}`;
      await writeFile(temp, value);
      await rename(temp, path);
      return true;
    } finally {
      await release();
    }
  }

  async waitForChange(key: string, index: number, options: WaitOptions): Promise<KvChange> {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const entry = await this.get(key);
      const current = entry?.index ?? NOTHING_INDEX;
      if (index === 0 || current !== index || Date.now() >= deadline || options.signal?.aborted) return { entry, index: current };
      await sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  async waitForPrefixChange(prefix: string, index: number, options: WaitOptions): Promise<KvPrefixChange> {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const entries = await this.list(prefix);
      // One index for the whole prefix: a digest of every key and its value's digest.
      const current = entries.length === 0 ? NOTHING_INDEX : indexOf(entries.map((entry) => `${entry.key}\u0000${entry.index}`).join('\u0001'));
      if (index === 0 || current !== index || Date.now() >= deadline || options.signal?.aborted) return { entries, index: current };
      await sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  private async lock(path: string): Promise<() => Promise<void>> {
    const lockPath = `${path}${LOCK_SUFFIX}`;
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.close();
        return () => rm(lockPath, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = Date.now() - (await stat(lockPath).then((info) => info.mtimeMs, () => Date.now()));
        if (age > STALE_LOCK_MS) await rm(lockPath, { force: true });
        else if (Date.now() > deadline) throw new InfermeshError('UPSTREAM_UNAVAILABLE', `registry key ${path} is locked by another writer`, { retriable: true });
        else await sleep(10 + Math.random() * 20);
      }
    }
  }
}

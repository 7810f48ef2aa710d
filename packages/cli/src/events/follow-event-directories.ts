import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@infermesh/shared';
import { NdjsonEventReader, type PositionedEvent } from './ndjson-event-reader.js';

/** Milliseconds between looks for event streams of processes that started after the reader. */
export const STREAM_DISCOVERY_MS = 500;

/** Options of {@link followEventDirectories}. */
export interface FollowEventDirectoriesOptions {
  /** From the oldest kept event of every stream; else only events published from now on. */
  fromBeginning: boolean;
  logger?: Logger;
  discoveryMs?: number;
}

/**
 * Follows every process's NDJSON event stream under `root`: each process writes to its own
 * subdirectory (`<root>/gateway`, `<root>/worker-8001`, …), and files directly in `root` are
 * a stream too. Streams that appear later are read from their beginning: everything in them is
 * new. Events of different streams interleave in the order they are read.
 */
export async function followEventDirectories(root: string, onEvent: (event: PositionedEvent) => void | Promise<void>, signal: AbortSignal, options: FollowEventDirectoriesOptions): Promise<void> {
  const followed = new Map<string, Promise<void>>();
  let first = true;
  while (!signal.aborted) {
    for (const dir of await streamDirectories(root)) {
      if (followed.has(dir)) continue;
      const reader = new NdjsonEventReader({ dir, ...(options.logger ? { logger: options.logger } : {}) });
      const start = first && !options.fromBeginning ? await reader.end() : await reader.beginning();
      followed.set(dir, reader.follow(start, onEvent, signal));
    }
    first = false;
    await sleep(options.discoveryMs ?? STREAM_DISCOVERY_MS, undefined, { signal }).catch(() => undefined);
  }
  await Promise.all(followed.values());
}

/** `root` and each of its subdirectories (missing ones are simply not there yet): one event stream each. */
export async function streamDirectories(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return [root, ...entries.filter((entry) => entry.isDirectory()).map((entry) => join(root, entry.name)).sort()];
}

import type { Logger } from '@infermesh/shared';
import { streamDirectories } from './follow-event-directories.js';
import { NdjsonEventReader, type PositionedEvent } from './ndjson-event-reader.js';

/**
 * Calls `onEvent` for every event the NDJSON streams under `root` hold now (each process's
 * subdirectory and `root` itself), oldest kept file first, and returns at the end of each.
 * Returns the number of streams read.
 */
export async function readEventDirectories(root: string, onEvent: (event: PositionedEvent) => void, options: { logger?: Logger } = {}): Promise<number> {
  const streams = await streamDirectories(root);
  let read = 0;
  for (const dir of streams) {
    const reader = new NdjsonEventReader({ dir, ...(options.logger ? { logger: options.logger } : {}) });
    let position = await reader.beginning();
    let any = false;
    for (;;) {
      const { events, position: next } = await reader.read(position);
      if (events.length === 0) break;
      any = true;
      for (const event of events) onEvent(event);
      position = next;
    }
    if (any) read += 1;
  }
  return read;
}

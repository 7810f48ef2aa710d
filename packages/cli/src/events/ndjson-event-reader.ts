import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_FILE_NAMING, readLines, type EventEnvelope, type Logger } from '@infermesh/shared';

/** Milliseconds between two looks for new lines when following the event files. */
export const DEFAULT_FOLLOW_POLL_MS = 200;
/** Bytes read at once from an event file (a longer line is read whole anyway). */
const READ_BUFFER_BYTES = 256 * 1024;
/** Most events returned by one read. */
const DEFAULT_READ_MAX_EVENTS = 1_000;

/** A place in the event stream: a file's sequence number and a byte offset in it (always a line boundary). */
export interface EventPosition {
  file: number;
  offset: number;
}

/** One event and the position just after it (where reading resumes). */
export interface PositionedEvent {
  envelope: EventEnvelope;
  position: EventPosition;
}

/** Options of an {@link NdjsonEventReader}. */
export interface NdjsonEventReaderOptions {
  dir: string;
  /** Where torn and unreadable lines are reported. */
  logger?: Logger;
  pollMs?: number;
}

/**
 * Reads the NDJSON event files from a position, like `tail -F`: it follows new lines and new
 * files, skips a torn last line once a newer file exists, and jumps forward past files that
 * rotation deleted. Positions are plain data, so a consumer can store one and resume from it.
 */
export class NdjsonEventReader {
  constructor(private readonly options: NdjsonEventReaderOptions) {}

  /** The start of the oldest file (everything still kept). */
  async beginning(): Promise<EventPosition> {
    const files = await EVENT_FILE_NAMING.list(this.options.dir);
    return { file: files[0] ?? 0, offset: 0 };
  }

  /** After the last complete line of the newest file (only events published from now on). */
  async end(): Promise<EventPosition> {
    const files = await EVENT_FILE_NAMING.list(this.options.dir);
    const newest = files.at(-1);
    if (newest === undefined) return { file: 0, offset: 0 };
    const handle = await open(this.pathOf(newest), 'r');
    try {
      const size = (await handle.stat()).size;
      const window = Math.min(size, READ_BUFFER_BYTES);
      const buffer = Buffer.allocUnsafe(window);
      const { bytesRead } = await handle.read(buffer, 0, window, size - window);
      const lastNewline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
      return { file: newest, offset: lastNewline === -1 ? size - window : size - window + lastNewline + 1 };
    } finally {
      await handle.close();
    }
  }

  /** The events after `from` (up to `maxEvents`) and the position after them; empty at the end of the stream. */
  async read(from: EventPosition, maxEvents: number = DEFAULT_READ_MAX_EVENTS): Promise<{ events: PositionedEvent[]; position: EventPosition }> {
    const files = await EVENT_FILE_NAMING.list(this.options.dir);
    let position = from;
    for (;;) {
      const newer = files.find((file) => file > position.file);
      if (!files.includes(position.file)) {
        if (newer === undefined) return { events: [], position };
        if (position.offset > 0) this.options.logger?.warn({ file: position.file }, 'an event file was deleted before it was read to the end');
        position = { file: newer, offset: 0 };
        continue;
      }
      const handle = await open(this.pathOf(position.file), 'r').catch(() => undefined);
      if (handle === undefined) {
        files.splice(files.indexOf(position.file), 1);
        continue;
      }
      try {
        const size = (await handle.stat()).size;
        const chunk = await readLines(handle, position.offset, size, { bufferBytes: READ_BUFFER_BYTES, maxLines: maxEvents });
        if (chunk.lines.length > 0) {
          const events: PositionedEvent[] = [];
          for (const line of chunk.lines) {
            try {
              events.push({ envelope: JSON.parse(line.text) as EventEnvelope, position: { file: position.file, offset: line.end } });
            } catch {
              this.options.logger?.warn({ file: position.file, offset: line.start }, 'skipping an unreadable line in the event files');
            }
          }
          return { events, position: { file: position.file, offset: chunk.end } };
        }
        // Nothing new here. The writer finished this file before it opened a newer one, so if one exists, move on.
        if (newer === undefined) return { events: [], position };
        if (chunk.partial) this.options.logger?.warn({ file: position.file, offset: position.offset }, 'skipping a torn last line in the event files');
        position = { file: newer, offset: 0 };
      } finally {
        await handle.close();
      }
    }
  }

  /** Calls `onEvent` for every event from `from` on, waiting for new ones, until `signal` aborts. */
  async follow(from: EventPosition, onEvent: (event: PositionedEvent) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    let position = from;
    while (!signal.aborted) {
      const { events, position: next } = await this.read(position);
      for (const event of events) {
        if (signal.aborted) return;
        await onEvent(event);
      }
      position = next;
      if (events.length === 0) await sleep(this.options.pollMs ?? DEFAULT_FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  private pathOf(file: number): string {
    return join(this.options.dir, EVENT_FILE_NAMING.fileName(file));
  }
}

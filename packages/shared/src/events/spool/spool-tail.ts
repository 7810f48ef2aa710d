import type { SpooledEvent } from '../contract/spooled-event.js';

/** Bytes of recently written events kept in memory by default (4 MiB): a few seconds at full load. */
export const DEFAULT_SPOOL_TAIL_BYTES = 4 * 1024 ** 2;

/** An event just written to the spool, with the UTF-8 length of its line (newline included). */
export interface WrittenEvent {
  event: SpooledEvent;
  bytes: number;
}

/** Where an event's line sits in the spool. */
interface TailEntry {
  segment: number;
  start: number;
  end: number;
  event: SpooledEvent;
}

/** Events the tail could hand over instead of a read of the segment file. */
export interface TailBatch {
  events: SpooledEvent[];
  /** Offset after the last event's line. */
  end: number;
}

/**
 * The events most recently written to the spool, in memory, so a sender that keeps up hands them
 * to the sink without reading its own writes back from disk and parsing them again. The files
 * stay the record: the tail forgets its oldest events past `maxBytes` (during an outage, say),
 * and whatever it does not hold at the offset asked for is read from the segment files as before.
 */
export class SpoolTail {
  private entries: TailEntry[] = [];
  /** Index of the first live entry: entries before it were acknowledged or forgotten. */
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A write of `written` (in order) left segment `segment` at `size` bytes. */
  committed(segment: number, size: number, written: readonly WrittenEvent[]): void {
    if (this.maxBytes <= 0) return;
    let start = size;
    for (const { bytes } of written) start -= bytes;
    for (const { event, bytes } of written) {
      this.entries.push({ segment, start, end: start + bytes, event });
      start += bytes;
      this.bytes += bytes;
    }
    while (this.bytes > this.maxBytes && this.head < this.entries.length) this.dropHead();
    this.compact();
  }

  /**
   * Up to `maxEvents` events (and `maxBytes` of lines, at least one event) whose lines start at
   * byte `from` of segment `segment` and follow each other; undefined when the tail does not
   * hold the event at that offset. Forgets what lies before it: the sender has acknowledged it.
   */
  peek(segment: number, from: number, maxEvents: number, maxBytes: number): TailBatch | undefined {
    while (this.head < this.entries.length) {
      const first = this.entries[this.head]!;
      if (first.segment > segment || (first.segment === segment && first.end > from)) break;
      this.dropHead();
    }
    this.compact();
    const first = this.entries[this.head];
    if (first === undefined || first.segment !== segment || first.start !== from) return undefined;
    const events: SpooledEvent[] = [];
    let end = from;
    for (let index = this.head; index < this.entries.length && events.length < maxEvents; index += 1) {
      const entry = this.entries[index]!;
      if (entry.segment !== segment || entry.start !== end) break;
      if (events.length > 0 && entry.end - from > maxBytes) break;
      events.push(entry.event);
      end = entry.end;
    }
    return { events, end };
  }

  private dropHead(): void {
    const entry = this.entries[this.head]!;
    this.bytes -= entry.end - entry.start;
    this.head += 1;
  }

  /** Reclaims the dropped prefix once it is most of the array, so memory follows what is live. */
  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

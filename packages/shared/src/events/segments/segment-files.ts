import { readdir } from 'node:fs/promises';

/** Digits of a segment's sequence number in its file name: names sort in sequence order. */
export const SEGMENT_SEQUENCE_DIGITS = 20;

/** How the numbered files of one directory are named: `<prefix><zero-padded sequence><suffix>`. */
export class SegmentNaming {
  private readonly pattern: RegExp;

  constructor(
    readonly prefix: string,
    readonly suffix: string,
  ) {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.pattern = new RegExp(`^${escape(prefix)}(\\d{${SEGMENT_SEQUENCE_DIGITS}})${escape(suffix)}$`);
  }

  /** The file name of segment `sequence`. */
  fileName(sequence: number): string {
    return `${this.prefix}${String(sequence).padStart(SEGMENT_SEQUENCE_DIGITS, '0')}${this.suffix}`;
  }

  /** The sequence number in `name`, or undefined when `name` is not one of these files. */
  sequenceOf(name: string): number | undefined {
    const match = this.pattern.exec(name);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  }

  /** Sequence numbers of the matching files in `dir`, ascending; empty when `dir` does not exist. */
  async list(dir: string): Promise<number[]> {
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return names
      .map((name) => this.sequenceOf(name))
      .filter((sequence): sequence is number => sequence !== undefined)
      .sort((a, b) => a - b);
  }
}

/** Spool segments: `segment-<seq>.ndjson`, the events not yet acknowledged by the sink. */
export const SPOOL_SEGMENT_NAMING = new SegmentNaming('segment-', '.ndjson');
/** Beside each spool segment, `segment-<seq>.ack`: how many of its bytes the sink has acknowledged. */
export const SPOOL_ACK_NAMING = new SegmentNaming('segment-', '.ack');
/** Embedded event stream: `events-<seq>.ndjson`. */
export const EVENT_FILE_NAMING = new SegmentNaming('events-', '.ndjson');

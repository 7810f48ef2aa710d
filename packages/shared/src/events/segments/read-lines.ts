import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;

/** One complete line of a file, without its newline. */
export interface FileLine {
  text: string;
  /** Byte offset of the line's first byte. */
  start: number;
  /** Byte offset just after its newline: where the next read starts. */
  end: number;
}

/** What {@link readLines} found. */
export interface LineChunk {
  lines: FileLine[];
  /** Offset after the last complete line returned (`from` when none). */
  end: number;
  /** True when the bytes between `end` and `limit` hold no newline: an unfinished (or torn) last line. */
  partial: boolean;
}

/** Limits of one {@link readLines} call. */
export interface ReadLinesOptions {
  /** Bytes read at once; doubled (up to `limit`) only while a single line does not fit. */
  bufferBytes: number;
  /** Most lines returned. */
  maxLines: number;
}

/**
 * Reads complete lines of `handle` from byte `from` up to byte `limit`, at most `maxLines`, with
 * a bounded buffer: memory stays proportional to one read, however large the file is.
 */
export async function readLines(handle: FileHandle, from: number, limit: number, options: ReadLinesOptions): Promise<LineChunk> {
  let size = Math.min(options.bufferBytes, limit - from);
  for (;;) {
    if (size <= 0) return { lines: [], end: from, partial: false };
    const buffer = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(buffer, 0, size, from);
    const lines: FileLine[] = [];
    let lineStart = 0;
    while (lines.length < options.maxLines) {
      const newline = buffer.indexOf(NEWLINE, lineStart);
      if (newline === -1 || newline >= bytesRead) break;
      lines.push({ text: buffer.toString('utf8', lineStart, newline), start: from + lineStart, end: from + newline + 1 });
      lineStart = newline + 1;
    }
    const end = from + lineStart;
    if (lines.length > 0) return { lines, end, partial: false };
    // No newline in what was read: either the line is longer than the buffer, or it is unfinished.
    const reachedLimit = from + bytesRead >= limit || bytesRead < size;
    if (reachedLimit) return { lines, end, partial: bytesRead > 0 };
    size = Math.min(size * 2, limit - from);
  }
}

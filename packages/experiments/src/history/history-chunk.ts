import { Ajv } from 'ajv';
import { HISTORY_PREFIX, NAME_PATTERN } from '@infermesh/shared/contract';
import { InfermeshError } from '@infermesh/shared/errors';
import { parseValidatedJson } from '@infermesh/shared/validation';
import type { HistoryPoint, HistoryVariant } from './history-point.js';

/** Milliseconds of one minute: the history keeps at most one point per minute per model. */
export const MINUTE_MS = 60_000;
/** Milliseconds of one hour: the span of a minute chunk, and the spacing of downsampled points. */
export const HOUR_MS = 60 * MINUTE_MS;
/** Milliseconds of one day: the span of an hour chunk. */
export const DAY_MS = 24 * HOUR_MS;

/** Largest value Consul KV stores, bytes (512 KiB). */
export const CONSUL_VALUE_LIMIT_BYTES = 512 * 1024;
/**
 * Largest chunk a writer stores, bytes (480 KiB): under Consul's limit with room to spare. A
 * full minute chunk at the bounds (60 points × {@link MAX_HISTORY_VARIANTS} variants with
 * 128-character names and the longest rounded numbers) takes about 456 KiB; a test keeps it so.
 */
export const MAX_CHUNK_BYTES = 480 * 1024;

/** How finely a chunk's points are spaced: a minute chunk spans an hour, an hour chunk a day. */
export type HistoryResolution = 'minute' | 'hour';

/** The span of one chunk of each resolution, milliseconds. */
export const CHUNK_SPAN_MS: Readonly<Record<HistoryResolution, number>> = { minute: HOUR_MS, hour: DAY_MS };
/** The spacing of a chunk's points: one per this many milliseconds at most. */
export const POINT_SPACING_MS: Readonly<Record<HistoryResolution, number>> = { minute: MINUTE_MS, hour: HOUR_MS };
/** Key segment of each resolution: `history/{model}/minutes/2026-12-07T23`, `history/{model}/hours/2026-12-07`. */
const SEGMENTS: Readonly<Record<HistoryResolution, string>> = { minute: 'minutes', hour: 'hours' };

/** Order of a stored variant's numbers: names once per chunk, not once per point. */
export const CHUNK_FIELDS = ['share', 'trials', 'rewardSum', 'probabilityBest', 'expectedLoss', 'mean'] as const;

/** One KV value of the history: a model's points of one hour (minute points) or one day (hourly points), sorted by time. */
export interface HistoryChunk {
  readonly model: string;
  readonly resolution: HistoryResolution;
  /** Milliseconds since the epoch: the start of the hour or day (UTC) the chunk spans. */
  readonly start: number;
  readonly points: readonly HistoryPoint[];
}

/** The stored form of a variant: its numbers in {@link CHUNK_FIELDS} order, null for one the record lacked. */
type StoredVariant = [number, number, number, number, number | null, number | null];

const finiteNumber = { type: 'number' } as const;
const storedVariant = {
  type: 'array',
  minItems: CHUNK_FIELDS.length,
  maxItems: CHUNK_FIELDS.length,
  items: [finiteNumber, finiteNumber, finiteNumber, finiteNumber, { type: ['number', 'null'] }, { type: ['number', 'null'] }],
} as const;

/** JSON Schema of a stored chunk. */
export const HISTORY_CHUNK_SCHEMA = {
  type: 'object',
  required: ['model', 'resolution', 'start', 'fields', 'points'],
  properties: {
    model: { type: 'string', pattern: NAME_PATTERN.source },
    resolution: { enum: ['minute', 'hour'] },
    start: { type: 'integer', minimum: 0 },
    fields: { type: 'array', items: { type: 'string' } },
    points: {
      type: 'array',
      items: {
        type: 'object',
        required: ['t', 'sequence', 'variants'],
        properties: {
          t: { type: 'integer', minimum: 0 },
          sequence: { type: 'integer', minimum: 0 },
          variants: { type: 'object', propertyNames: { pattern: NAME_PATTERN.source }, additionalProperties: storedVariant },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strictTuples: false }).compile(HISTORY_CHUNK_SCHEMA);

/** The chunk start (UTC hour or day) a time falls in. */
export function chunkStartOf(resolution: HistoryResolution, t: number): number {
  return Math.floor(t / CHUNK_SPAN_MS[resolution]) * CHUNK_SPAN_MS[resolution];
}

/** The KV key (relative to the registry's prefix) of a model's chunk: readable in the Consul UI, sorted by time. */
export function chunkKey(model: string, resolution: HistoryResolution, start: number): string {
  const iso = new Date(start).toISOString();
  return `${historyPrefixOf(model)}${SEGMENTS[resolution]}/${resolution === 'minute' ? iso.slice(0, 13) : iso.slice(0, 10)}`;
}

/** The prefix every history key of a model starts with. */
export function historyPrefixOf(model: string): string {
  return `${HISTORY_PREFIX}${model}/`;
}

/** What a key names, or undefined for a key that is no chunk of that model. */
export function parseChunkKey(model: string, key: string): { resolution: HistoryResolution; start: number } | undefined {
  const match = /^(minutes|hours)\/(\d{4}-\d{2}-\d{2})(?:T(\d{2}))?$/.exec(key.startsWith(historyPrefixOf(model)) ? key.slice(historyPrefixOf(model).length) : '');
  if (match === null) return undefined;
  const resolution: HistoryResolution = match[1] === 'minutes' ? 'minute' : 'hour';
  if ((resolution === 'minute') !== (match[3] !== undefined)) return undefined;
  const start = Date.parse(`${match[2]}T${match[3] ?? '00'}:00:00.000Z`);
  return Number.isNaN(start) ? undefined : { resolution, start };
}

/** An empty chunk of the model at the given resolution, spanning the time `t` falls in. */
export function emptyChunk(model: string, resolution: HistoryResolution, t: number): HistoryChunk {
  return { model, resolution, start: chunkStartOf(resolution, t), points: [] };
}

/** The stored JSON of a chunk. Every character is ASCII (names match NAME_PATTERN), so its length is its size in bytes. */
export function encodeChunk(chunk: HistoryChunk): string {
  const points = chunk.points.map((point) => ({
    t: point.t,
    sequence: point.sequence,
    variants: Object.fromEntries(
      Object.entries(point.variants).map(([name, variant]): [string, StoredVariant] => [
        name,
        [variant.share, variant.trials, variant.rewardSum, variant.probabilityBest, variant.expectedLoss ?? null, variant.mean ?? null],
      ]),
    ),
  }));
  return JSON.stringify({ model: chunk.model, resolution: chunk.resolution, start: chunk.start, fields: CHUNK_FIELDS, points });
}

/** Parses a stored chunk; INVALID_CONFIG says what is wrong (a reader skips it, a writer starts it again). */
export function decodeChunk(text: string): HistoryChunk {
  const stored = parseValidatedJson('history chunk', text, validate) as {
    model: string;
    resolution: HistoryResolution;
    start: number;
    fields: string[];
    points: { t: number; sequence: number; variants: Record<string, StoredVariant> }[];
  };
  if (stored.fields.join() !== CHUNK_FIELDS.join()) throw new InfermeshError('INVALID_CONFIG', `history chunk has fields ${stored.fields.join(', ')}, expected ${CHUNK_FIELDS.join(', ')}`);
  const points = stored.points.map((point): HistoryPoint => ({
    t: point.t,
    sequence: point.sequence,
    variants: Object.fromEntries(
      Object.entries(point.variants).map(([name, [share, trials, rewardSum, probabilityBest, expectedLoss, mean]]): [string, HistoryVariant] => [
        name,
        { share, trials, rewardSum, probabilityBest, ...(expectedLoss === null ? {} : { expectedLoss }), ...(mean === null ? {} : { mean }) },
      ]),
    ),
  }));
  return { model: stored.model, resolution: stored.resolution, start: stored.start, points: points.sort((a, b) => a.t - b.t) };
}

/** Why a point was not appended. */
export type AppendRefusal = 'slot-taken' | 'other-chunk' | 'full';

/**
 * Appends a point to a chunk, at most one per {@link POINT_SPACING_MS} slot (a minute in a
 * minute chunk): a point whose slot is not after the last point's is refused as `slot-taken`,
 * whatever its sequence. So with two writers the second finds the minute taken, a writer whose
 * clock is behind adds nothing, and an unchanged record still gets a point each minute (a gap
 * in the history means nothing was published). `full`: the chunk would exceed {@link MAX_CHUNK_BYTES}.
 */
export function appendPoint(chunk: HistoryChunk, point: HistoryPoint): { chunk: HistoryChunk; encoded: string } | { refused: AppendRefusal } {
  if (chunkStartOf(chunk.resolution, point.t) !== chunk.start) return { refused: 'other-chunk' };
  const spacing = POINT_SPACING_MS[chunk.resolution];
  const last = chunk.points.at(-1);
  if (last !== undefined && Math.floor(point.t / spacing) <= Math.floor(last.t / spacing)) return { refused: 'slot-taken' };
  const next = { ...chunk, points: [...chunk.points, point] };
  const encoded = encodeChunk(next);
  return encoded.length > MAX_CHUNK_BYTES ? { refused: 'full' } : { chunk: next, encoded };
}

import { Ajv } from 'ajv';
import { InfermeshError, NAME_PATTERN } from '@infermesh/shared';
import { LATENCY_BUCKETS, type CountsByModel } from '@infermesh/experiments';

/** Version of the stored layout; a reader refuses others instead of misreading them. */
export const PARTITION_STATE_VERSION = 1;

/** Kinds of evidence, each deduplicated by prediction id over its own window. */
export const EVIDENCE_KINDS = ['trial', 'reward'] as const;
/** A kind of evidence. */
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** What a partition's tally is rebuilt from: its counts and where in the log they stop. */
export interface TallySnapshot {
  /** Next offset to count, as Kafka writes offsets (a decimal int64): every message below it is in `counts`, none at or above. */
  offset: string;
  /** Newest event time of each kind counted, epoch milliseconds (null before the first): where the dedupe windows end. */
  newest: Record<EvidenceKind, number | null>;
  counts: CountsByModel;
}

/**
 * One partition's state as stored in KV at `aggregator/<group>/partitions/<topic>/<partition>`,
 * written only by compare-and-set: the counts and the offset they reach travel together, so a
 * new owner resumes exactly where the stored counts stop.
 */
export interface PartitionState extends TallySnapshot {
  version: typeof PARTITION_STATE_VERSION;
  topic: string;
  partition: number;
  /** The instance that wrote it and its write number: together they make every stored value unique. */
  writer: string;
  write: number;
  /** Epoch milliseconds of the write (for people reading KV). */
  writtenAt: number;
}

/** KV folder of one consumer group's partition states. */
export function partitionStatesPrefix(groupId: string): string {
  return `aggregator/${groupId}/partitions/`;
}

/** KV key of one partition's state. */
export function partitionStateKey(groupId: string, topic: string, partition: number): string {
  return `${partitionStatesPrefix(groupId)}${topic}/${partition}`;
}

const epochMs = { type: 'number', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const newestTime = { anyOf: [epochMs, { type: 'null' }] } as const;
const magnitude = 1e300;

/** JSON Schema of a stored partition state. */
export const PARTITION_STATE_SCHEMA = {
  type: 'object',
  required: ['version', 'topic', 'partition', 'offset', 'newest', 'counts', 'writer', 'write', 'writtenAt'],
  properties: {
    version: { const: PARTITION_STATE_VERSION },
    topic: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
    partition: { type: 'integer', minimum: 0 },
    offset: { type: 'string', pattern: '^(0|[1-9][0-9]{0,18})$' },
    newest: { type: 'object', required: ['trial', 'reward'], properties: { trial: newestTime, reward: newestTime } },
    counts: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN.source },
      additionalProperties: {
        type: 'object',
        propertyNames: { pattern: NAME_PATTERN.source },
        additionalProperties: {
          type: 'object',
          required: ['trials', 'rewardSum', 'rewardSumSquares', 'updatedAt'],
          properties: {
            trials: { type: 'number', minimum: 0, maximum: magnitude },
            rewardSum: { type: 'number', minimum: -magnitude, maximum: magnitude },
            rewardSumSquares: { type: 'number', minimum: 0, maximum: magnitude },
            updatedAt: epochMs,
            measured: {
              type: 'object',
              required: ['predictions', 'errors', 'defaults', 'latency'],
              properties: {
                predictions: { type: 'number', minimum: 0, maximum: magnitude },
                errors: { type: 'number', minimum: 0, maximum: magnitude },
                defaults: { type: 'number', minimum: 0, maximum: magnitude },
                latency: { type: 'array', maxItems: LATENCY_BUCKETS, items: { type: 'number', minimum: 0, maximum: magnitude } },
              },
            },
          },
        },
      },
    },
    writer: { type: 'string' },
    write: { type: 'integer', minimum: 0 },
    writtenAt: epochMs,
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(PARTITION_STATE_SCHEMA);

/**
 * Parses a stored state; INVALID_CONFIG names the problems. A state that is not valid cannot
 * be resumed from: someone must look (counting it as empty would silently recount or lose).
 */
export function parsePartitionState(key: string, text: string): PartitionState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `partition state ${key} is not JSON: ${(error as Error).message}`);
  }
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
    throw new InfermeshError('INVALID_CONFIG', `partition state ${key} is invalid: ${[...new Set(problems)].join('; ')}`);
  }
  return value as unknown as PartitionState;
}

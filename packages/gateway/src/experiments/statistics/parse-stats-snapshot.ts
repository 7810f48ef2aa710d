import { Ajv } from 'ajv';
import { InfermeshError, NAME_PATTERN } from '@infermesh/shared';
import { freezeStatsByName, type VariantStatsByName } from './variant-stats.js';

/** What the aggregator publishes under `stats/{model}`. */
export interface StatsSnapshot {
  model: string;
  /** Milliseconds since the epoch when the aggregator computed it. */
  generatedAt: number;
  variants: VariantStatsByName;
}

const nonNegativeMs = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

/** JSON Schema of one variant's published statistics. */
export const VARIANT_STATS_SCHEMA = {
  type: 'object',
  required: ['trials', 'rewardSum', 'rewardSumSquares', 'updatedAt'],
  properties: {
    // A number, not an integer: an aggregator that discounts old evidence publishes fractions.
    trials: { type: 'number', minimum: 0 },
    rewardSum: { type: 'number' },
    rewardSumSquares: { type: 'number', minimum: 0 },
    updatedAt: nonNegativeMs,
  },
} as const;

/**
 * JSON Schema of a `stats/{model}` value. Unknown fields are allowed and ignored, so an
 * aggregator can publish more (a window, counts) before every gateway knows of it.
 */
export const STATS_SNAPSHOT_SCHEMA = {
  type: 'object',
  required: ['model', 'generatedAt', 'variants'],
  properties: {
    model: { type: 'string', pattern: NAME_PATTERN.source },
    generatedAt: nonNegativeMs,
    variants: { type: 'object', propertyNames: { pattern: NAME_PATTERN.source }, additionalProperties: VARIANT_STATS_SCHEMA },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(STATS_SNAPSHOT_SCHEMA);

/**
 * Parses and validates the text of `stats/{model}`; INVALID_CONFIG names every problem,
 * including a snapshot of another model stored under this one's key.
 */
export function parseStatsSnapshot(model: string, text: string): StatsSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `statistics of model '${model}' are not JSON: ${(error as Error).message}`);
  }
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
    throw new InfermeshError('INVALID_CONFIG', `statistics of model '${model}' are invalid: ${[...new Set(problems)].join('; ')}`);
  }
  const snapshot = value as unknown as StatsSnapshot;
  if (snapshot.model !== model) {
    throw new InfermeshError('INVALID_CONFIG', `statistics stored for model '${model}' are for model '${snapshot.model}'`);
  }
  // A frozen copy: unknown fields go, and the watcher's object cannot change what the bandit reads.
  return { model, generatedAt: snapshot.generatedAt, variants: freezeStatsByName(Object.entries(snapshot.variants)) };
}

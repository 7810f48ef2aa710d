import { Ajv } from 'ajv';
import { NAME_PATTERN } from '@infermesh/shared/contract';
import { InfermeshError } from '@infermesh/shared/errors';
import { checkValidatedJson, parseValidatedJson } from '@infermesh/shared/validation';
import type { RecordConclusion, VariantGuardrail } from '../conclusions/conclusion-state.js';
import type { MeasuredSummary } from '../evidence/guardrail-measures.js';
import type { PosteriorDescriptor } from '../statistics/posterior-summary.js';
import { checkLayout, type TrafficLayout } from './traffic-layout.js';

export type { RecordConclusion, VariantGuardrail } from '../conclusions/conclusion-state.js';

/** What the record says about one variant: its evidence, its share of live traffic and its chance of being best. */
export interface RecordVariant {
  /** Predictions served; fractional once old evidence is discounted. */
  readonly trials: number;
  readonly rewardSum: number;
  readonly rewardSumSquares: number;
  /** Milliseconds since the epoch the evidence is discounted to. */
  readonly updatedAt: number;
  /** Share of live traffic the policy gives it (its width in the layout). */
  readonly share: number;
  /** Posterior probability that its mean reward is the highest. */
  readonly probabilityBest: number;
  /** E[max_j θ_j − θ_this] over the enabled live variants: the reward given up by choosing it (absent in records of older aggregators). */
  readonly expectedLoss?: number;
  /** Posterior mean of the reward. */
  readonly mean?: number;
  /** 95 % credible interval of the mean. */
  readonly interval?: readonly [number, number];
  /** The distribution of the mean (Beta for binary rewards, the Student-t marginal under Normal–Gamma). */
  readonly posterior?: PosteriorDescriptor;
  /** What its guardrails are judged on (predictions, errors, default outputs, p99 latency); absent before any is measured. */
  readonly measured?: MeasuredSummary;
  /** The guardrail it breached: unless `dryRun`, it has share 0 and cannot win until the experiment is reopened. */
  readonly guardrail?: VariantGuardrail;
}

/**
 * The experiment record of one model (`stats/{model}`): the statistics, the traffic shares
 * computed from them under the policy's floor and warm-up rules, and the layout that routes
 * entities. Gateways decide from the record alone, so every replica holding the same record
 * gives every entity the same variant.
 */
export interface ExperimentRecord {
  readonly model: string;
  /** Increases with every publication of this model's record. */
  readonly sequence: number;
  /** Milliseconds since the epoch when it was computed. */
  readonly generatedAt: number;
  readonly variants: Readonly<Record<string, RecordVariant>>;
  readonly layout: TrafficLayout;
  /** Absent while the experiment has no conclusion in sight. */
  readonly conclusion?: RecordConclusion;
}

/** Largest magnitude any number in a record may have: far beyond real evidence, far below overflow. */
const MAX_MAGNITUDE = 1e300;
const finite = { type: 'number', minimum: -MAX_MAGNITUDE, maximum: MAX_MAGNITUDE } as const;
const nonNegative = { type: 'number', minimum: 0, maximum: MAX_MAGNITUDE } as const;
const unit = { type: 'number', minimum: 0, maximum: 1 } as const;
const epochMs = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** JSON Schema of a record. Unknown top-level fields are ignored, so publishers can add some before gateways know them. */
export const EXPERIMENT_RECORD_SCHEMA = {
  type: 'object',
  required: ['model', 'sequence', 'generatedAt', 'variants', 'layout'],
  properties: {
    model: { type: 'string', pattern: NAME_PATTERN.source },
    sequence: epochMs,
    generatedAt: epochMs,
    variants: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN.source },
      additionalProperties: {
        type: 'object',
        required: ['trials', 'rewardSum', 'rewardSumSquares', 'updatedAt', 'share', 'probabilityBest'],
        properties: { trials: nonNegative, rewardSum: finite, rewardSumSquares: nonNegative, updatedAt: epochMs, share: unit, probabilityBest: unit },
      },
    },
    layout: {
      type: 'array',
      minItems: 1,
      items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'string', pattern: NAME_PATTERN.source }, unit] },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strictTuples: false }).compile(EXPERIMENT_RECORD_SCHEMA);

/**
 * Parses and checks a record; INVALID_CONFIG names every problem. Whatever passes is safe to
 * route on: every number is finite, the layout covers [0, 1) in increasing bands, and every
 * band's variant has an entry.
 */
export function parseExperimentRecord(model: string, text: string): ExperimentRecord {
  return checkRecordContent(model, parseValidatedJson(recordOf(model), text, validate));
}

/** {@link parseExperimentRecord} for a value already parsed (or computed in this process). */
export function checkExperimentRecord(model: string, value: unknown): ExperimentRecord {
  return checkRecordContent(model, checkValidatedJson(recordOf(model), value, validate));
}

function recordOf(model: string): string {
  return `record of model '${model}'`;
}

/** What the schema cannot say: the record is the model's, its layout is sound and names only variants it has. */
function checkRecordContent(model: string, value: unknown): ExperimentRecord {
  const record = value as ExperimentRecord;
  if (record.model !== model) throw new InfermeshError('INVALID_CONFIG', `record stored for model '${model}' is for model '${record.model}'`);
  try {
    checkLayout(record.layout);
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `record of model '${model}' has a bad layout: ${(error as Error).message}`);
  }
  const unknown = record.layout.map(([variant]) => variant).filter((variant) => !Object.hasOwn(record.variants, variant));
  if (unknown.length > 0) throw new InfermeshError('INVALID_CONFIG', `record of model '${model}' routes to variants it has no entry for: ${[...new Set(unknown)].join(', ')}`);
  return record;
}

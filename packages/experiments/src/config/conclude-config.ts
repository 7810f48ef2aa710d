/**
 * How an experiment ends (its `conclude` block) and the people's actions on it (`concluded`,
 * `reopenedAt`): when the leader has held the rule for `forSeconds` the aggregator concludes it
 * (all live traffic to the winner, its version promoted to `promote.deployment`); a variant
 * breaching a guardrail is taken out of live traffic. `dry-run` only reports what it would do.
 */
import { InfermeshError } from '@infermesh/shared/errors';
import { NAME_PATTERN } from '@infermesh/shared/contract';

/** A metric a guardrail bounds, per variant. */
export type GuardrailMetric = 'errorRate' | 'defaultRate' | 'p99LatencyMs';

/** One guardrail: the variant is taken out when `metric` exceeds `max`. */
export interface GuardrailConfig {
  metric: GuardrailMetric;
  max: number;
}

/** The `conclude` block of an experiment, defaults applied. */
export interface ConcludeConfig {
  when: {
    /** P(best) the leader needs, e.g. 0.95. */
    probabilityBest: number;
    /** Seconds the rule must hold without a break before the experiment concludes. */
    forSeconds: number;
    /** Trials every enabled live variant needs first. */
    minTrialsPerVariant: number;
    /** The leader's expected loss must be below this (reward units); absent: not required. */
    expectedLossBelow?: number;
  };
  /** Deployment the winner's version is promoted to; absent: conclude without promoting. */
  promote?: { deployment: string };
  guardrails: GuardrailConfig[];
  /** Predictions a variant needs before its guardrails judge it (rates of a handful of requests are noise). */
  minPredictions: number;
  /** `auto` acts; `dry-run` publishes what it would do and changes nothing. */
  mode: 'auto' | 'dry-run';
}

/** A person's conclusion (`infermesh experiments conclude`), written into the experiment document. */
export interface ManualConclusion {
  /** The winner; absent: the record's leader when the aggregator applies it. */
  winner?: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Predictions a variant needs before its guardrails judge it, by default. */
export const DEFAULT_GUARDRAIL_MIN_PREDICTIONS = 200;
/** Seconds the rule must hold by default (ten minutes). */
export const DEFAULT_CONCLUDE_FOR_SECONDS = 600;

const epochMs = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** JSON Schema of the `conclude` block. */
export const CONCLUDE_CONFIG_SCHEMA = {
  type: 'object',
  required: ['when'],
  additionalProperties: false,
  properties: {
    when: {
      type: 'object',
      required: ['probabilityBest'],
      additionalProperties: false,
      properties: {
        probabilityBest: { type: 'number', minimum: 0.5, maximum: 1 },
        forSeconds: { type: 'number', minimum: 0 },
        minTrialsPerVariant: { type: 'number', minimum: 0 },
        expectedLossBelow: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    promote: { type: 'object', required: ['deployment'], additionalProperties: false, properties: { deployment: { type: 'string', pattern: NAME_PATTERN.source } } },
    guardrails: {
      type: 'array',
      items: {
        type: 'object',
        required: ['metric', 'max'],
        additionalProperties: false,
        properties: { metric: { enum: ['errorRate', 'defaultRate', 'p99LatencyMs'] }, max: { type: 'number', minimum: 0 } },
      },
    },
    minPredictions: { type: 'integer', minimum: 1 },
    mode: { enum: ['auto', 'dry-run'] },
  },
} as const;

/** JSON Schema of `concluded`. */
export const MANUAL_CONCLUSION_SCHEMA = {
  type: 'object',
  required: ['at'],
  additionalProperties: false,
  properties: { winner: { type: 'string', pattern: NAME_PATTERN.source }, at: epochMs },
} as const;

/** JSON Schema of `reopenedAt`. */
export const REOPENED_AT_SCHEMA = epochMs;

/** The block with its defaults. */
export function withConcludeDefaults(raw: Omit<ConcludeConfig, 'when' | 'guardrails' | 'minPredictions' | 'mode'> & { when: Partial<ConcludeConfig['when']> & { probabilityBest: number }; guardrails?: GuardrailConfig[]; minPredictions?: number; mode?: ConcludeConfig['mode'] }): ConcludeConfig {
  return {
    when: { forSeconds: DEFAULT_CONCLUDE_FOR_SECONDS, minTrialsPerVariant: 0, ...raw.when },
    ...(raw.promote === undefined ? {} : { promote: raw.promote }),
    guardrails: raw.guardrails ?? [],
    minPredictions: raw.minPredictions ?? DEFAULT_GUARDRAIL_MIN_PREDICTIONS,
    mode: raw.mode ?? 'auto',
  };
}

/** What the schema cannot say. Throws INVALID_CONFIG: promoting needs every live variant's pool to be a deployment; a manual winner must be a live variant. */
export function checkConclusion(model: string, variants: readonly { name: string; role: 'live' | 'shadow'; pool: { deployment?: string } }[], conclude: ConcludeConfig | undefined, concluded: ManualConclusion | undefined): void {
  const live = variants.filter((variant) => variant.role === 'live');
  if (conclude?.promote !== undefined) {
    const fixed = live.filter((variant) => variant.pool.deployment === undefined).map((variant) => variant.name);
    if (fixed.length > 0) {
      throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}': conclude.promote needs every live variant's pool to name a deployment (a static pool has no version to promote): ${fixed.join(', ')}`, { details: { variants: fixed } });
    }
  }
  if (concluded?.winner !== undefined && !live.some((variant) => variant.name === concluded.winner)) {
    throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}': concluded.winner '${concluded.winner}' is not a live variant`);
  }
}

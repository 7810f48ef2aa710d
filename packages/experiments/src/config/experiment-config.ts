import { Ajv } from 'ajv';
import { NAME_PATTERN } from '@infermesh/shared/contract';
import { InfermeshError } from '@infermesh/shared/errors';
import { POOL_CONFIG_SCHEMA, type PoolConfig } from '@infermesh/shared/pools';
import { parseValidatedJson } from '@infermesh/shared/validation';
import { checkPrior } from '../policy/posteriors.js';
import { DEFAULT_VARIANT_WEIGHT, type ExperimentPolicy, type RewardBounds } from '../policy/policy-types.js';
import { checkConclusion, CONCLUDE_CONFIG_SCHEMA, MANUAL_CONCLUSION_SCHEMA, REOPENED_AT_SCHEMA, withConcludeDefaults, type ConcludeConfig, type ManualConclusion } from './conclude-config.js';

/** One arm of an experiment: a model deployment (or fixed workers) that serves a share of traffic. */
export interface VariantConfig {
  name: string;
  pool: PoolConfig;
  /** False takes the variant out of live traffic at once (kill switch). */
  enabled: boolean;
  /** Live variants answer clients; shadow variants get copies whose answers are only compared. */
  role: 'live' | 'shadow';
  /** Relative share under the weighted policy. */
  weight?: number;
}

/** `experiments/{model}`: how a model's traffic is split between variants. */
export interface ExperimentConfig {
  /** Entity key that makes assignment sticky, e.g. userId. */
  entityKey: string;
  /** Length of the stickiness window, seconds: one entity keeps its variant within a window. */
  stickinessSeconds: number;
  /** `weighted` (fixed shares: A/B, canary) or `thompson` (binary or continuous rewards, priors, floor, warm-up, discounting). */
  policy: ExperimentPolicy;
  variants: VariantConfig[];
  /** Share of live requests copied to shadow variants, and how many copies may run at once. */
  shadow: { fraction: number; maxConcurrent: number };
  /** How the experiment ends: the rule, the promotion, the guardrails (see conclude-config.ts). */
  conclude?: ConcludeConfig;
  /** Concluded by a person. */
  concluded?: ManualConclusion;
  /** Epoch ms a person reopened it: conclusions and guardrail trips from before are cleared. */
  reopenedAt?: number;
}

/** Rewards a feedback call may report: a closed interval. */
export type RewardRange = RewardBounds;

/**
 * Rewards a continuous experiment accepts when it declares no range. Wide enough for counts
 * and amounts; bounded so no sequence of rewards can overflow the sums of squares.
 */
export const DEFAULT_REWARD_RANGE: Readonly<RewardRange> = Object.freeze({ min: -1e6, max: 1e6 });
/** Largest magnitude a declared reward bound may have: with it, 10^12 squared rewards still sum far below overflow. */
export const MAX_REWARD_MAGNITUDE = 1e12;
/** The only rewards of a binary experiment. */
const BINARY_RANGE: Readonly<RewardRange> = Object.freeze({ min: 0, max: 1 });

/** Stickiness window when none is configured, seconds (one day). */
export const DEFAULT_STICKINESS_SECONDS = 86_400;
/** Most variants an experiment may declare: bounds the record, the layout and each history chunk (see history-chunk.ts). */
export const MAX_EXPERIMENT_VARIANTS = 32;
/** Copies to shadow variants in flight at once by default. */
export const DEFAULT_SHADOW_CONCURRENCY = 8;

const bound = { type: 'number', minimum: -MAX_REWARD_MAGNITUDE, maximum: MAX_REWARD_MAGNITUDE } as const;
const REWARD_RANGE_SCHEMA = { type: 'object', required: ['min', 'max'], additionalProperties: false, properties: { min: bound, max: bound } } as const;

/** JSON Schema of an experiment config. */
export const EXPERIMENT_CONFIG_SCHEMA = {
  type: 'object',
  required: ['entityKey', 'policy', 'variants'],
  additionalProperties: false,
  properties: {
    entityKey: { type: 'string', minLength: 1 },
    stickinessSeconds: { type: 'integer', minimum: 1 },
    policy: {
      oneOf: [
        {
          type: 'object',
          required: ['type'],
          additionalProperties: false,
          properties: { type: { const: 'weighted' }, reward: { enum: ['binary', 'continuous'] }, rewardRange: REWARD_RANGE_SCHEMA },
        },
        {
          type: 'object',
          required: ['type', 'reward'],
          additionalProperties: false,
          properties: {
            type: { const: 'thompson' },
            reward: { enum: ['binary', 'continuous'] },
            minShare: { type: 'number', minimum: 0, maximum: 0.5 },
            minTrials: { type: 'integer', minimum: 0 },
            discountPerHour: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            rewardRange: REWARD_RANGE_SCHEMA,
            prior: {
              type: 'object',
              additionalProperties: false,
              properties: { alpha: { type: 'number' }, beta: { type: 'number' }, mu: { type: 'number' }, kappa: { type: 'number' } },
            },
          },
        },
      ],
    },
    variants: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EXPERIMENT_VARIANTS,
      items: {
        type: 'object',
        required: ['name', 'pool'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: NAME_PATTERN.source },
          pool: POOL_CONFIG_SCHEMA,
          enabled: { type: 'boolean' },
          role: { enum: ['live', 'shadow'] },
          weight: { type: 'number', minimum: 0 },
        },
      },
    },
    shadow: {
      type: 'object',
      additionalProperties: false,
      properties: { fraction: { type: 'number', minimum: 0, maximum: 1 }, maxConcurrent: { type: 'integer', minimum: 1 } },
    },
    conclude: CONCLUDE_CONFIG_SCHEMA,
    concluded: MANUAL_CONCLUSION_SCHEMA,
    reopenedAt: REOPENED_AT_SCHEMA,
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(EXPERIMENT_CONFIG_SCHEMA);

/** Parses and validates an experiment; INVALID_CONFIG says what is wrong. */
export function parseExperimentConfig(model: string, text: string): ExperimentConfig {
  const value = parseValidatedJson(`experiment of model '${model}'`, text, validate);
  const raw = value as Omit<ExperimentConfig, 'variants' | 'shadow' | 'stickinessSeconds' | 'policy' | 'conclude'> & {
    conclude?: Parameters<typeof withConcludeDefaults>[0];
    variants: (Omit<VariantConfig, 'enabled' | 'role'> & Partial<VariantConfig>)[];
    shadow?: Partial<ExperimentConfig['shadow']>;
    stickinessSeconds?: number;
    policy: { type: 'weighted' | 'thompson'; minShare?: number; minTrials?: number };
  };
  const variants = raw.variants.map((variant) => ({ ...variant, enabled: variant.enabled ?? true, role: variant.role ?? 'live' }));
  const names = new Set(variants.map((variant) => variant.name));
  if (names.size !== variants.length) throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}' names a variant twice`);
  if (!variants.some((variant) => variant.enabled && variant.role === 'live')) {
    throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}' has no enabled live variant: clients would get no answer`);
  }
  // Weights split traffic under a weighted policy and during a Thompson warm-up: all 0 (say, after the kill switch took the only weighted variant) would route nobody.
  if (!(variants.filter((variant) => variant.enabled && variant.role === 'live').reduce((sum, variant) => sum + (variant.weight ?? DEFAULT_VARIANT_WEIGHT), 0) > 0)) {
    throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}': the enabled live variants all have weight 0, so no request could be routed; give one a weight above 0`);
  }
  const policy = raw.policy.type === 'thompson' ? { minShare: 0.01, minTrials: 100, ...raw.policy } : raw.policy;
  const range = (raw.policy as { rewardRange?: RewardRange }).rewardRange;
  if (range !== undefined && !(range.min < range.max)) {
    throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}': policy.rewardRange needs min < max, got [${range.min}, ${range.max}]`);
  }
  if (range !== undefined && (raw.policy as { reward?: string }).reward === 'binary') {
    throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}': a binary experiment takes rewards 0 and 1; drop policy.rewardRange`);
  }
  if (policy.type === 'thompson') {
    try {
      checkPrior(policy as unknown as Parameters<typeof checkPrior>[0]);
    } catch (error) {
      throw new InfermeshError('INVALID_CONFIG', `experiment of model '${model}': ${(error as Error).message}`);
    }
  }
  const conclude = raw.conclude === undefined ? undefined : withConcludeDefaults(raw.conclude);
  checkConclusion(model, variants, conclude, raw.concluded);
  return {
    entityKey: raw.entityKey,
    stickinessSeconds: raw.stickinessSeconds ?? DEFAULT_STICKINESS_SECONDS,
    policy: policy as ExperimentConfig['policy'],
    variants,
    shadow: { fraction: raw.shadow?.fraction ?? 0, maxConcurrent: raw.shadow?.maxConcurrent ?? DEFAULT_SHADOW_CONCURRENCY },
    ...(conclude === undefined ? {} : { conclude }),
    ...(raw.concluded === undefined ? {} : { concluded: raw.concluded }),
    ...(raw.reopenedAt === undefined ? {} : { reopenedAt: raw.reopenedAt }),
  };
}

/** The rewards `experiment` accepts: 0 and 1 for binary rewards, else its declared range or {@link DEFAULT_REWARD_RANGE}. */
export function rewardRangeOf(experiment: ExperimentConfig): Readonly<RewardRange> {
  if (experiment.policy.reward === 'binary') return BINARY_RANGE;
  return experiment.policy.rewardRange ?? DEFAULT_REWARD_RANGE;
}

/**
 * Throws INVALID_ARGUMENT unless `reward` is one `experiment` accepts (binary: exactly 0 or 1;
 * a model without an experiment: the default range).
 */
export function checkReward(model: string, experiment: ExperimentConfig | undefined, reward: number): void {
  const range = experiment === undefined ? DEFAULT_REWARD_RANGE : rewardRangeOf(experiment);
  if (experiment?.policy.reward === 'binary') {
    if (reward !== 0 && reward !== 1) throw new InfermeshError('INVALID_ARGUMENT', `model '${model}' takes binary rewards: send 0 or 1`, { details: { reward, allowed: [0, 1] } });
    return;
  }
  if (!(reward >= range.min && reward <= range.max)) {
    throw new InfermeshError('INVALID_ARGUMENT', `reward ${reward} is outside the range model '${model}' accepts, [${range.min}, ${range.max}] (policy.rewardRange)`, {
      details: { reward, min: range.min, max: range.max },
    });
  }
}

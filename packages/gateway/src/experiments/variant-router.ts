import { InfermeshError } from '@infermesh/shared';
import { liveVariants, type ServedModel, type ServedVariant } from '../models/served-model.js';
import type { StatisticsSource } from './statistics/statistics-source.js';
import { assignSticky, chooseVariant, type VariantPolicyInput } from './policy/experiment-policy.js';
import type { RandomSource } from './policy/random-source.js';

/** Which variant answers a request, and whether the choice is sticky for its entity. */
export interface Routing {
  variant: ServedVariant;
  /** True when the entity key was present and the assignment holds for the stickiness window. */
  sticky: boolean;
  /** The entity key value the assignment used ('' when unsticky). */
  entity: string;
}

/** What routing needs. */
export interface VariantRouterDependencies {
  statistics: StatisticsSource;
  now: () => number;
  random: RandomSource;
}

/** The policy's view of a model's variants, with the statistics it decides from. */
export function policyInputs(model: ServedModel, statistics: StatisticsSource): VariantPolicyInput[] {
  const snapshot = statistics.snapshot(model.name);
  return model.variants.map((variant) => ({
    name: variant.name,
    enabled: variant.config.enabled,
    role: variant.config.role,
    ...(variant.config.weight === undefined ? {} : { weight: variant.config.weight }),
    stats: snapshot[variant.name] ?? { trials: 0, rewardSum: 0, rewardSumSquares: 0, updatedAt: 0 },
  }));
}

/**
 * Picks the live variant for a request. With the experiment's entity key present the choice is
 * a deterministic function of (experiment, entity, window, statistics), so every replica with
 * the same statistics agrees without a shared session store; without it the policy decides
 * with the gateway's own random source and the answer says it was not sticky.
 */
export function routeRequest(model: ServedModel, entity: Readonly<Record<string, string | number>>, dependencies: VariantRouterDependencies): Routing {
  const experiment = model.experiment;
  if (experiment === undefined) {
    const [only] = liveVariants(model);
    if (only === undefined) throw new InfermeshError('NO_HEALTHY_WORKER', `model '${model.name}' has no live variant`);
    return { variant: only, sticky: false, entity: '' };
  }
  const inputs = policyInputs(model, dependencies.statistics);
  const entityValue = entity[experiment.entityKey];
  const name =
    entityValue === undefined
      ? chooseVariant(experiment.policy, inputs, dependencies.random)
      : assignSticky(experiment.policy, inputs, {
          experiment: model.name,
          entityKey: experiment.entityKey,
          entityValue: String(entityValue),
          windowStart: Math.floor(dependencies.now() / (experiment.stickinessSeconds * 1000)),
        });
  const variant = model.variants.find((candidate) => candidate.name === name);
  if (variant === undefined) throw new InfermeshError('INTERNAL', `policy chose unknown variant '${name}'`);
  return { variant, sticky: entityValue !== undefined, entity: entityValue === undefined ? '' : String(entityValue) };
}

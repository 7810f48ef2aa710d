import { InfermeshError } from '@infermesh/shared';
import { assignVariant, type RandomSource, type RecordSource } from '@infermesh/experiments';
import { liveVariants, type ServedModel, type ServedVariant } from '../models/served-model.js';

/** Which variant answers a request, and why. */
export interface Routing {
  variant: ServedVariant;
  /** True when the entity key was present and the assignment holds while the record's layout does. */
  sticky: boolean;
  /** The entity key value the assignment used ('' when unsticky). */
  entity: string;
  /** Probability the policy gave this variant (1 without an experiment): logged for off-policy evaluation. */
  propensity: number;
  /** Sequence of the experiment record routed by; null without an experiment or record. */
  recordSequence: number | null;
}

/** What routing needs. */
export interface VariantRouterDependencies {
  records: RecordSource;
  /** Milliseconds since the epoch: the entity's stickiness window. */
  now: () => number;
  random: RandomSource;
}

/**
 * Picks the live variant for a request from the model's experiment and the record this
 * replica holds: with the experiment's entity key present the choice is a function of
 * (record, config, entity, window) alone, so every replica holding the same record agrees
 * without a shared session store; without it the position is drawn at random from the same
 * shares and the answer says it was not sticky.
 */
export function routeRequest(model: ServedModel, entity: Readonly<Record<string, string | number>>, dependencies: VariantRouterDependencies): Routing {
  const experiment = model.experiment;
  if (experiment === undefined) {
    const [only] = liveVariants(model);
    if (only === undefined) throw new InfermeshError('NO_HEALTHY_WORKER', `model '${model.name}' has no live variant`);
    return { variant: only, sticky: false, entity: '', propensity: 1, recordSequence: null };
  }
  const entityValue = entity[experiment.entityKey];
  const key = { model: model.name, entity: entityValue === undefined ? undefined : String(entityValue), now: dependencies.now() };
  const assignment = assignVariant(experiment, dependencies.records.get(model.name), key, dependencies.random);
  const variant = model.variants.find((candidate) => candidate.name === assignment.variant);
  if (variant === undefined) throw new InfermeshError('INTERNAL', `routing chose unknown variant '${assignment.variant}'`);
  return { variant, sticky: assignment.sticky, entity: key.entity ?? '', propensity: assignment.propensity, recordSequence: assignment.recordSequence };
}

/**
 * Which variants may take live traffic, after checking the policy and the variants. Every
 * policy function starts here, so a bad configuration fails the same way everywhere:
 * INVALID_CONFIG, naming what is wrong.
 */
import { InfermeshError } from '@infermesh/shared/errors';
import { checkPrior } from './posteriors.js';
import { weightOf, type ExperimentPolicy, type PosteriorModel, type VariantPolicyInput } from './policy-types.js';

/**
 * The enabled live variants. Throws INVALID_CONFIG for an unknown policy or reward, a
 * parameter out of range, a duplicate name, a negative weight, malformed statistics, no
 * enabled live variant, live weights all 0, or (Thompson with minShare 0 and a warm-up)
 * a weight-0 variant that could never reach minTrials.
 */
export function eligibleVariants(policy: ExperimentPolicy, variants: readonly VariantPolicyInput[]): VariantPolicyInput[] {
  if (policy.type === 'thompson') {
    checkModel(policy);
    if (!(policy.minShare >= 0 && policy.minShare < 1)) throw invalid(`minShare must be in [0, 1), got ${policy.minShare}`);
    if (!(policy.minTrials >= 0 && Number.isFinite(policy.minTrials))) throw invalid(`minTrials must be a finite number >= 0, got ${policy.minTrials}`);
  } else if (policy.type !== 'weighted') {
    throw invalid(`unknown policy type ${String((policy as { type: unknown }).type)}`);
  }
  const live = enabledLive(variants);
  if (!(live.reduce((sum, variant) => sum + weightOf(variant), 0) > 0)) throw invalid('the enabled live variants all have weight 0', { variants: live.map((variant) => variant.name) });
  if (policy.type === 'thompson' && policy.minShare === 0 && policy.minTrials > 0) {
    const starved = live.filter((variant) => weightOf(variant) === 0).map((variant) => variant.name);
    if (starved.length > 0) throw invalid('with minShare 0, a weight-0 variant never gets the trials the warm-up waits for', { variants: starved });
  }
  return live;
}

/** The enabled live variants for posterior questions about `model`; throws INVALID_CONFIG as {@link eligibleVariants} does. */
export function eligibleVariantsFor(model: PosteriorModel, variants: readonly VariantPolicyInput[]): VariantPolicyInput[] {
  checkModel(model);
  return enabledLive(variants);
}

/** Names of enabled shadow variants: the ones a request may be mirrored to. */
export function shadowVariants(variants: readonly VariantPolicyInput[]): string[] {
  return variants.filter((variant) => variant.enabled && variant.role === 'shadow').map((variant) => variant.name);
}

function checkModel(model: PosteriorModel): void {
  if (model.reward !== 'binary' && model.reward !== 'continuous') throw invalid(`unknown reward ${String((model as { reward: unknown }).reward)}`);
  const discount = model.discountPerHour;
  if (discount !== undefined && !(discount > 0 && discount <= 1)) throw invalid(`discountPerHour must be in (0, 1], got ${discount}`);
  try {
    checkPrior(model);
  } catch (error) {
    throw invalid((error as Error).message, {}, error);
  }
}

function enabledLive(variants: readonly VariantPolicyInput[]): VariantPolicyInput[] {
  const names = new Set<string>();
  for (const variant of variants) {
    if (names.has(variant.name)) throw invalid(`variant ${variant.name} is listed twice`, { variant: variant.name });
    names.add(variant.name);
    const weight = weightOf(variant);
    if (!(weight >= 0 && Number.isFinite(weight))) throw invalid(`variant ${variant.name}: weight must be a finite number >= 0, got ${weight}`, { variant: variant.name });
    const { trials, rewardSum, rewardSumSquares, updatedAt } = variant.stats;
    const wellFormed = trials >= 0 && Number.isFinite(trials) && Number.isFinite(rewardSum) && rewardSumSquares >= 0 && Number.isFinite(rewardSumSquares);
    if (!wellFormed || (updatedAt !== undefined && !Number.isFinite(updatedAt))) {
      throw invalid(`variant ${variant.name}: malformed statistics ${JSON.stringify(variant.stats)}`, { variant: variant.name });
    }
  }
  const live = variants.filter((variant) => variant.enabled && variant.role === 'live');
  if (live.length === 0) throw invalid('no enabled live variant to route to', { variants: variants.map((variant) => variant.name) });
  return live;
}

function invalid(message: string, details: Record<string, unknown> = {}, cause?: unknown): InfermeshError {
  return new InfermeshError('INVALID_CONFIG', `experiment policy: ${message}`, { details, cause });
}

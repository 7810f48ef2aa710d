/**
 * Carrying out a concluded experiment's promotion: the winner's version (what its pool's
 * deployment serves) is promoted to `conclude.promote.deployment` through the registry's
 * compare-and-set path, the one `infermesh models promote` takes. Idempotent: a deployment
 * already serving that version is left alone, so an instance retrying after a crash, or two
 * instances racing, promote once. The registry is passed in; this module does no I/O itself.
 */
import { InfermeshError } from '@infermesh/shared/errors';
import type { ExperimentConfig } from '../config/experiment-config.js';
import type { RecordConclusion } from './conclusion-state.js';

/** Failed promotion attempts (one per publication round) before the conclusion says `failed`. */
export const MAX_PROMOTION_ATTEMPTS = 5;

/** What promoting needs of the model registry (shared's ModelRegistry is one). */
export interface PromotionRegistry {
  deployment(model: string, deployment: string): Promise<{ record: { version: string } } | undefined>;
  promote(model: string, deployment: string, version: string): Promise<unknown>;
}

/** The conclusion after one promotion attempt: done (with what was promoted), still pending (a retry is due), or failed. */
export async function promoteWinner(model: string, experiment: ExperimentConfig, conclusion: RecordConclusion, registry: PromotionRegistry): Promise<RecordConclusion> {
  const target = experiment.conclude?.promote?.deployment;
  try {
    if (target === undefined) return { ...conclusion, promotion: 'none' };
    const source = experiment.variants.find((variant) => variant.name === conclusion.winner)?.pool.deployment;
    if (source === undefined) throw new InfermeshError('INVALID_CONFIG', `variant '${conclusion.winner}' of model '${model}' is not served by a deployment: there is no version to promote`);
    const serving = await registry.deployment(model, source);
    if (serving === undefined) throw new InfermeshError('DEPLOYMENT_NOT_FOUND', `model '${model}' has no deployment '${source}' (the pool of variant '${conclusion.winner}')`);
    const version = serving.record.version;
    const current = await registry.deployment(model, target);
    if (current?.record.version !== version) await registry.promote(model, target, version);
    const { promotionError: _error, ...rest } = conclusion;
    return { ...rest, promotion: 'done', promoted: { deployment: target, version } };
  } catch (error) {
    const attempts = (conclusion.promotionAttempts ?? 0) + 1;
    const message = InfermeshError.from(error).message;
    return { ...conclusion, promotion: attempts >= MAX_PROMOTION_ATTEMPTS ? 'failed' : 'pending', promotionAttempts: attempts, promotionError: message };
  }
}

import { timingSafeEqual } from 'node:crypto';
import { Ajv } from 'ajv';
import { InfermeshError, type KvStore } from '@infermesh/shared';
import type { Request } from 'express';
import { parseExperimentConfig } from '../experiments/experiment-config.js';
import { policyInputs } from '../experiments/variant-router.js';
import { probabilityBest, trafficShares } from '../experiments/policy/experiment-policy.js';
import { posteriorFor, posteriorMean, type RewardModel } from '../experiments/policy/posteriors.js';
import { seededRandom } from '../experiments/policy/random-source.js';
import type { StatisticsSource } from '../experiments/statistics/statistics-source.js';
import type { FeedbackTokenSigner } from '../feedback/feedback-token-signer.js';
import type { RewardDeduplicator } from '../feedback/reward-deduplicator.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { ServedModel } from '../models/served-model.js';

/** Monte-Carlo draws behind the shares and probabilities the API reports. */
const REPORT_SAMPLES = 4_000;

/** What the feedback and experiment routes need. */
export interface ExperimentRouteDependencies {
  catalog: ModelCatalog;
  statistics: StatisticsSource;
  feedbackTokens: FeedbackTokenSigner;
  rewards: RewardDeduplicator;
  kv: KvStore;
  /** Bearer token required to change an experiment; undefined disables changes over HTTP. */
  adminToken: string | undefined;
}

const validateFeedback = new Ajv({ allErrors: true }).compile({
  type: 'object',
  required: ['feedbackToken', 'reward'],
  additionalProperties: false,
  properties: { feedbackToken: { type: 'string', minLength: 1, maxLength: 4096 }, reward: { type: 'number' } },
});

/** `POST /v1/feedback`: attributes a reward to the variant that served a prediction, once. */
export function recordFeedback(body: unknown, dependencies: ExperimentRouteDependencies): { counted: boolean; duplicate: boolean } {
  if (!validateFeedback(body)) {
    throw new InfermeshError('INVALID_ARGUMENT', `feedback must be {"feedbackToken": string, "reward": number}: ${(validateFeedback.errors ?? []).map((error) => `${error.instancePath || 'body'} ${error.message}`).join('; ')}`);
  }
  const { feedbackToken, reward } = body as { feedbackToken: string; reward: number };
  const claims = dependencies.feedbackTokens.verify(feedbackToken);
  const policy = dependencies.catalog.get(claims.model)?.experiment?.policy;
  if (policy?.type === 'thompson' && policy.reward === 'binary' && reward !== 0 && reward !== 1) {
    throw new InfermeshError('INVALID_ARGUMENT', `model '${claims.model}' takes binary rewards: send 0 or 1`);
  }
  if (!dependencies.rewards.firstTime(claims.requestId, claims.expiresAt)) return { counted: false, duplicate: true };
  dependencies.statistics.recordReward(claims.model, claims.variant, reward);
  return { counted: true, duplicate: false };
}

/** Per-variant view of a model's experiment: statistics, posterior, probability of being best, share. */
export function describeExperiment(model: ServedModel, statistics: StatisticsSource): object {
  const experiment = model.experiment;
  if (experiment === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model.name}' has no experiment`);
  const inputs = policyInputs(model, statistics);
  // Seeded: the same statistics always report the same figures.
  const shares = trafficShares(experiment.policy, inputs, seededRandom(`${model.name}|shares`), { samples: REPORT_SAMPLES });
  const best = probabilityBest(experiment.policy, inputs, seededRandom(`${model.name}|best`), { samples: REPORT_SAMPLES });
  const rewardModel = (experiment.policy.type === 'thompson' ? experiment.policy : { reward: experiment.policy.reward ?? 'continuous' }) as RewardModel;
  return {
    model: model.name,
    entityKey: experiment.entityKey,
    stickinessSeconds: experiment.stickinessSeconds,
    policy: experiment.policy,
    shadow: experiment.shadow,
    variants: inputs.map((input) => ({
      name: input.name,
      role: input.role,
      enabled: input.enabled,
      trials: input.stats.trials,
      rewards: input.stats.rewardSum,
      rewardMean: input.stats.trials > 0 ? input.stats.rewardSum / input.stats.trials : null,
      posterior: posteriorFor(rewardModel, input.stats),
      posteriorMean: posteriorMean(posteriorFor(rewardModel, input.stats)),
      probabilityBest: best[input.name] ?? 0,
      share: shares[input.name] ?? 0,
    })),
  };
}

/** `PUT /v1/experiments/{model}`: validates and stores a new experiment (the catalog applies it). */
export async function putExperiment(request: Request, model: string, body: unknown, dependencies: ExperimentRouteDependencies): Promise<object> {
  const token = dependencies.adminToken;
  if (token === undefined) throw new InfermeshError('UNAUTHORIZED', 'changing experiments over HTTP is disabled: start the gateway with --admin-token');
  const given = Buffer.from(/^Bearer (.+)$/.exec(request.get('authorization') ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InfermeshError('UNAUTHORIZED', 'a valid admin token is required (Authorization: Bearer …)');
  if (dependencies.catalog.get(model) === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model}' is not configured on this gateway`);
  const text = JSON.stringify(body);
  parseExperimentConfig(model, text);
  const key = `experiments/${model}`;
  const current = await dependencies.kv.get(key);
  if (!(await dependencies.kv.compareAndSet(key, text, current?.index ?? 0))) {
    throw new InfermeshError('CONFLICT', `the experiment of '${model}' changed meanwhile; read it again and retry`);
  }
  return { model, stored: key, note: 'gateways apply it within moments (watched)' };
}

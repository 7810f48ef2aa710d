import { timingSafeEqual } from 'node:crypto';
import { Ajv } from 'ajv';
import { InfermeshError, type EventPublisher, type KvStore } from '@infermesh/shared';
import type { Request } from 'express';
import { checkReward, effectiveShares, layoutShares, parseExperimentConfig, posteriorFor, posteriorMean, warmUpLayout, type RecordSource, type RewardModel } from '@infermesh/experiments';
import type { FeedbackTokenSigner } from '../feedback/feedback-token-signer.js';
import type { RewardDeduplicator } from '../feedback/reward-deduplicator.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { ServedModel } from '../models/served-model.js';

/** What the feedback and experiment routes need. */
export interface ExperimentRouteDependencies {
  catalog: ModelCatalog;
  records: RecordSource;
  /** Where `infermesh.feedback.received` goes (the aggregator counts rewards from it). */
  events: EventPublisher;
  feedbackTokens: FeedbackTokenSigner;
  rewards: RewardDeduplicator;
  kv: KvStore;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Bearer token required to change an experiment; undefined disables changes over HTTP. */
  adminToken: string | undefined;
}

const validateFeedback = new Ajv({ allErrors: true }).compile({
  type: 'object',
  required: ['feedbackToken', 'reward'],
  additionalProperties: false,
  properties: { feedbackToken: { type: 'string', minLength: 1, maxLength: 4096 }, reward: { type: 'number' } },
});

/**
 * `POST /v1/feedback`: attributes a reward to the variant that served a prediction, once per
 * prediction id. The reward must lie in the range the experiment declares, so no sequence of
 * feedback calls can push the statistics out of the finite numbers. A counted reward is in the
 * local spool as `infermesh.feedback.received` before the answer says so.
 */
export async function recordFeedback(body: unknown, requestId: string, dependencies: ExperimentRouteDependencies): Promise<{ counted: boolean; duplicate: boolean }> {
  if (!validateFeedback(body)) {
    throw new InfermeshError('INVALID_ARGUMENT', `feedback must be {"feedbackToken": string, "reward": number}: ${(validateFeedback.errors ?? []).map((error) => `${error.instancePath || 'body'} ${error.message}`).join('; ')}`);
  }
  const { feedbackToken, reward } = body as { feedbackToken: string; reward: number };
  const claims = dependencies.feedbackTokens.verify(feedbackToken);
  const experiment = dependencies.catalog.get(claims.model)?.experiment;
  checkReward(claims.model, experiment, reward);
  if (!dependencies.rewards.firstTime(claims.predictionId, claims.expiresAt)) return { counted: false, duplicate: true };
  await dependencies.events.publish({
    type: 'infermesh.feedback.received',
    // The prediction's subject: feedback lands on the partition of the entity it rewards.
    subject: claims.entity === '' ? claims.predictionId : claims.entity,
    data: {
      predictionId: claims.predictionId,
      model: claims.model,
      variant: claims.variant,
      version: claims.version === '' ? null : claims.version,
      reward,
      delayMs: Math.max(0, Math.round(dependencies.now() - claims.issuedAt)),
      requestId,
    },
  });
  return { counted: true, duplicate: false };
}

/**
 * Per-variant view of a model's experiment as this replica routes it: the record it decides
 * from (sequence, age), evidence, posterior, probability of being best, and share.
 */
export function describeExperiment(model: ServedModel, dependencies: Pick<ExperimentRouteDependencies, 'records' | 'catalog' | 'now'>): object {
  const experiment = model.experiment;
  if (experiment === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model.name}' has no experiment`);
  const record = dependencies.records.get(model.name);
  const routable = new Set(experiment.variants.filter((variant) => variant.enabled && variant.role === 'live').map((variant) => variant.name));
  const recordWidths = record === undefined ? undefined : layoutShares(record.layout);
  const fromRecord = recordWidths !== undefined && [...routable].some((name) => (recordWidths.get(name) ?? 0) > 0);
  const shares = effectiveShares(fromRecord ? record!.layout : warmUpLayout(experiment, [...routable]), routable);
  const rewardModel = (experiment.policy.type === 'thompson' ? experiment.policy : { reward: experiment.policy.reward ?? 'continuous' }) as RewardModel;
  return {
    model: model.name,
    revision: dependencies.catalog.experimentRevision(model.name) ?? null,
    entityKey: experiment.entityKey,
    stickinessSeconds: experiment.stickinessSeconds,
    policy: experiment.policy,
    shadow: experiment.shadow,
    record: fromRecord ? { sequence: record!.sequence, generatedAt: record!.generatedAt, ageSeconds: Math.max(0, (dependencies.now() - record!.generatedAt) / 1000) } : null,
    variants: experiment.variants.map((variant) => {
      const stats = record?.variants[variant.name] ?? { trials: 0, rewardSum: 0, rewardSumSquares: 0, probabilityBest: 0 };
      const posterior = posteriorFor(rewardModel, stats);
      return {
        name: variant.name,
        role: variant.role,
        enabled: variant.enabled,
        trials: stats.trials,
        rewards: stats.rewardSum,
        rewardMean: stats.trials > 0 ? stats.rewardSum / stats.trials : null,
        posterior,
        posteriorMean: posteriorMean(posterior),
        probabilityBest: stats.probabilityBest,
        share: shares.get(variant.name) ?? 0,
      };
    }),
  };
}

/**
 * `PUT /v1/experiments/{model}`: validates and stores a new experiment, then applies it on this
 * replica before answering, so a kill switch holds for every request this replica answers
 * afterwards. Other replicas apply it within moments; the answer's `revision` is what
 * `GET /v1/experiments/{model}` shows once a replica serves it.
 */
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
  await dependencies.catalog.refresh();
  // Another writer may have stored a newer experiment right after this one: say which one serves.
  const applied = dependencies.catalog.sourcesOf(model)?.experiment === text;
  return { model, stored: key, revision: dependencies.catalog.experimentRevision(model) ?? null, applied };
}

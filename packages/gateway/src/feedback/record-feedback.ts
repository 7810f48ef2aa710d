import { Ajv } from 'ajv';
import { InfermeshError, type EventPublisher } from '@infermesh/shared';
import { checkReward } from '@infermesh/experiments';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { FeedbackTokenSigner } from './feedback-token-signer.js';
import type { RewardDeduplicator } from './reward-deduplicator.js';

/** What recording a reward needs. */
export interface RecordFeedbackDependencies {
  /** The served models: a reward is checked against the range its model's experiment declares. */
  catalog: Pick<ModelCatalog, 'get'>;
  /** Where `infermesh.feedback.received` goes (the aggregator counts rewards from it). */
  events: EventPublisher;
  feedbackTokens: FeedbackTokenSigner;
  rewards: RewardDeduplicator;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** Whether the reward counted, and if not, that it was a repeat for the same prediction. */
export interface FeedbackOutcome {
  counted: boolean;
  duplicate: boolean;
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
export async function recordFeedback(body: unknown, requestId: string, dependencies: RecordFeedbackDependencies): Promise<FeedbackOutcome> {
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

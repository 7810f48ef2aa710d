import type { EventInput, Logger } from '@infermesh/shared';
import { RecentPredictions } from './recent-predictions.js';

/**
 * Milliseconds after the start of the prediction memory before a token's issue time counts as
 * inside it: the issue time is recovered from the feedback event's delay, rounded, and read a
 * moment after the delay was measured.
 */
export const ISSUE_TIME_MARGIN_MS = 1_000;

/** What the guard needs. */
export interface LocalRecordsGuardDependencies {
  logger: Logger;
  /** Milliseconds since the epoch: the clock feedback tokens are signed with. */
  now: () => number;
  /** Whether this gateway routes `model` by an experiment of its own (local records). */
  routesLocally: (model: string) => boolean;
  /** Prediction ids remembered (see RecentPredictions). */
  rememberedPredictions?: number;
}

/**
 * What a gateway on local records watches for: signs that it is not alone. Two replicas on local
 * records each count only their own traffic and so run two experiments, silently; each sign is
 * logged as a WARN once per model.
 * - A record published under `stats/` for a model it routes locally: an aggregator service runs.
 * - Feedback for a prediction another gateway served. The feedback event carries the prediction
 *   id and the delay since its token was issued; a token issued after this process started whose
 *   prediction this process never served (it remembers the ids it served, bounded) was issued by
 *   another process holding the same feedback keys. Tokens from before the start (a previous run
 *   of this gateway) or from before the memory's reach are not judged.
 */
export class LocalRecordsGuard {
  private readonly served: RecentPredictions;
  private readonly published = new Set<string>();
  private readonly warned = { published: new Set<string>(), feedback: new Set<string>() };

  constructor(private readonly dependencies: LocalRecordsGuardDependencies) {
    this.served = new RecentPredictions(dependencies.now(), dependencies.rememberedPredictions);
  }

  /** Reads an event this gateway publishes (before it is sent anywhere). */
  observe(event: EventInput): void {
    if (event.type === 'infermesh.prediction.served') {
      this.served.remember(event.data.predictionId, this.dependencies.now());
    } else if (event.type === 'infermesh.feedback.received') {
      const { predictionId, model, delayMs } = event.data;
      if (!this.dependencies.routesLocally(model)) return;
      const issuedAt = this.dependencies.now() - delayMs;
      if (issuedAt < this.served.completeSince() + ISSUE_TIME_MARGIN_MS || this.served.has(predictionId)) return;
      this.warnOnce('feedback', model, { predictionId }, 'feedback for a prediction another gateway served: this gateway routes by its own records (--experiment-records local), so each replica runs its own experiment on part of the traffic; run `infermesh aggregate` and start the gateways with --consul and --kafka-brokers (or --experiment-records registry)');
    }
  }

  /** A record of `model` was published under `stats/`. */
  recordPublished(model: string): void {
    this.published.add(model);
    this.check(model);
  }

  /** The models or experiments changed: a model routed locally now may have a published record. */
  catalogChanged(): void {
    for (const model of this.published) this.check(model);
  }

  private check(model: string): void {
    if (!this.dependencies.routesLocally(model)) return;
    this.warnOnce('published', model, {}, 'an aggregator publishes records for this model under stats/, but this gateway routes by its own records (--experiment-records local): replicas on local records each run their own experiment; start it with --experiment-records registry (the default with --consul and --kafka-brokers)');
  }

  private warnOnce(kind: 'published' | 'feedback', model: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned[kind].has(model)) return;
    this.warned[kind].add(model);
    this.dependencies.logger.warn({ model, ...fields }, message);
  }
}

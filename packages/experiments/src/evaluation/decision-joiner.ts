import { InfermeshError } from '@infermesh/shared/errors';
import type { LoggedDecision } from './logged-decision.js';

/** The part of a CloudEvent the joiner reads: events from Kafka and from NDJSON files alike. */
export interface JoinableEvent {
  readonly id: string;
  readonly type: string;
  readonly time?: string;
  readonly data?: unknown;
}

/** What the joined decisions are, and what was left out on the way. */
export interface JoinedDecisions {
  readonly decisions: LoggedDecision[];
  /** Events read twice (same event id: a spool's replay), counted once. */
  readonly duplicateEvents: number;
  /** Predictions of the model that could never be rewarded (default outputs, Open Inference requests): not decisions of the experiment. */
  readonly notRewardable: number;
  /** Feedback whose prediction was not among the served events read (served before `--from`, or on another topic range). */
  readonly unmatchedFeedback: number;
  /** Further feedback events for a prediction already rewarded: the aggregator counts the first only, and so does evaluation. */
  readonly repeatedFeedback: number;
}

const SERVED_TYPE = 'infermesh.prediction.served';
const FEEDBACK_TYPE = 'infermesh.feedback.received';

interface Served {
  readonly variant: string;
  readonly propensity: number;
}

/**
 * Joins `prediction.served` with `feedback.received` on the prediction id, in whatever order the
 * events arrive (two topics, or files of several gateways), deduplicating on the event id.
 */
export class DecisionJoiner {
  readonly #model: string;
  readonly #fromMs: number;
  readonly #seenIds = new Set<string>();
  readonly #served = new Map<string, Served>();
  readonly #rewards = new Map<string, number>();
  #duplicateEvents = 0;
  #notRewardable = 0;
  #repeatedFeedback = 0;
  #missingPropensity = 0;

  /** Keeps the events of `model` at or after `fromMs` (epoch ms; events without a time are kept). */
  constructor(model: string, fromMs = Number.NEGATIVE_INFINITY) {
    this.#model = model;
    this.#fromMs = fromMs;
  }

  /** Takes one event of any type; events of other types or models are ignored. */
  add(event: JoinableEvent): void {
    if (event.type !== SERVED_TYPE && event.type !== FEEDBACK_TYPE) return;
    const data = event.data as Record<string, unknown> | undefined;
    if (data?.model !== this.#model || typeof data.predictionId !== 'string') return;
    if (event.time !== undefined && Date.parse(event.time) < this.#fromMs) return;
    if (this.#seenIds.has(event.id)) {
      this.#duplicateEvents += 1;
      return;
    }
    this.#seenIds.add(event.id);
    if (event.type === SERVED_TYPE) this.#addServed(data.predictionId, data);
    else this.#addFeedback(data.predictionId, data);
  }

  #addServed(predictionId: string, data: Record<string, unknown>): void {
    if (data.rewardable === false || data.default === true) {
      this.#notRewardable += 1;
      return;
    }
    if (typeof data.propensity !== 'number' || typeof data.variant !== 'string') {
      this.#missingPropensity += 1;
      return;
    }
    this.#served.set(predictionId, { variant: data.variant, propensity: data.propensity });
  }

  #addFeedback(predictionId: string, data: Record<string, unknown>): void {
    if (typeof data.reward !== 'number') return;
    if (this.#rewards.has(predictionId)) {
      this.#repeatedFeedback += 1;
      return;
    }
    this.#rewards.set(predictionId, data.reward);
  }

  /** The decisions joined so far; INVALID_ARGUMENT when served events lack propensities (nothing to weigh them by). */
  result(): JoinedDecisions {
    if (this.#missingPropensity > 0) {
      throw new InfermeshError(
        'INVALID_ARGUMENT',
        `${this.#missingPropensity} prediction.served events of model '${this.#model}' carry no propensity: off-policy evaluation cannot weigh them (were they written by another producer?)`,
        { details: { missingPropensity: this.#missingPropensity } },
      );
    }
    const decisions: LoggedDecision[] = [];
    for (const [predictionId, { variant, propensity }] of this.#served) {
      const reward = this.#rewards.get(predictionId);
      decisions.push({ predictionId, variant, propensity, reward: reward ?? 0, rewarded: reward !== undefined });
    }
    const unmatchedFeedback = [...this.#rewards.keys()].filter((predictionId) => !this.#served.has(predictionId)).length;
    return {
      decisions,
      duplicateEvents: this.#duplicateEvents,
      notRewardable: this.#notRewardable,
      unmatchedFeedback,
      repeatedFeedback: this.#repeatedFeedback,
    };
  }
}

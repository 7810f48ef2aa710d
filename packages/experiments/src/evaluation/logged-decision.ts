/**
 * One routing decision as the events logged it, joined with its reward: what off-policy
 * evaluation replays. Built from `prediction.served` (variant, propensity) and the first
 * `feedback.received` for the same prediction id.
 */
export interface LoggedDecision {
  readonly predictionId: string;
  /** The variant the logging policy chose. */
  readonly variant: string;
  /** Probability in (0, 1] with which the logging policy chose it. */
  readonly propensity: number;
  /** The reward fed back, or 0 when none came: the aggregator counts such a trial as a reward of 0 too. */
  readonly reward: number;
  /** Whether a feedback event arrived for the prediction. */
  readonly rewarded: boolean;
}

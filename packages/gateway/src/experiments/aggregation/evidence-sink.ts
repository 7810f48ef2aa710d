/** Where the evidence of an experiment goes: trials from served predictions, rewards from feedback. */
export interface EvidenceSink {
  /** A prediction of `model` served by `variant` at `at` (epoch ms). */
  countTrial(model: string, variant: string, at: number): void;
  /** A verified, first-time reward for a prediction `variant` served, received at `at` (epoch ms). */
  countReward(model: string, variant: string, reward: number, at: number): void;
}

/** Evidence dropped on purpose: a gateway whose records come from the aggregator service counts nothing itself. */
export const IGNORED_EVIDENCE: EvidenceSink = Object.freeze({ countTrial: () => undefined, countReward: () => undefined });

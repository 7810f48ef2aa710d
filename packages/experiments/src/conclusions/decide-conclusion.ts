/**
 * The conclusion rule: when the leader (highest P(best) among the enabled live variants no
 * guardrail took out) has P(best) ≥ `probabilityBest`, expected loss below `expectedLossBelow`,
 * and every such variant has `minTrialsPerVariant` trials, the record says `pending` from that
 * moment (`since`); once it has held `forSeconds` without a break, `concluded` (all live
 * traffic to the winner) or, in dry-run, `would_conclude`. A break clears it. A concluded
 * record stays concluded (the experiment keeps its statistics) until a person reopens it; a
 * person's `concluded` concludes at once. Pure: the time is passed in.
 */
import type { ExperimentConfig } from '../config/experiment-config.js';
import type { ConclusionView, RecordConclusion } from './conclusion-state.js';

/** The numbers the rule reads of one variant in the new record. */
export interface ConclusionCandidate {
  probabilityBest: number;
  expectedLoss: number;
  trials: number;
}

/** What the rule decides from. */
export interface ConclusionInputs {
  experiment: ExperimentConfig;
  /** The previous record: its conclusion state (pending since when, concluded, promotion). */
  previous: ConclusionView | undefined;
  /** Sequence of the record being computed. */
  sequence: number;
  /** Enabled live variants no guardrail took out, with their numbers in the new record. */
  candidates: Readonly<Record<string, ConclusionCandidate>>;
  /** Epoch ms. */
  now: number;
}

/** The new record's conclusion; undefined when there is none in sight. */
export function decideConclusion({ experiment, previous, sequence, candidates, now }: ConclusionInputs): RecordConclusion | undefined {
  const reopenedAt = experiment.reopenedAt ?? Number.NEGATIVE_INFINITY;
  const held = previous?.conclusion;
  const prior = held !== undefined && (held.at ?? held.since) > reopenedAt ? held : undefined;
  const manual = experiment.concluded !== undefined && experiment.concluded.at > reopenedAt ? experiment.concluded : undefined;
  const names = Object.keys(candidates);
  const leader = names.reduce<string | undefined>((best, name) => (best === undefined || candidates[name]!.probabilityBest > candidates[best]!.probabilityBest ? name : best), undefined);
  const evidenceOf = (winner: string) => {
    const numbers = candidates[winner] ?? { probabilityBest: 0, expectedLoss: 0, trials: 0 };
    return { sequence, probabilityBest: numbers.probabilityBest, expectedLoss: numbers.expectedLoss, trials: numbers.trials };
  };
  const promotion = experiment.conclude?.promote === undefined ? ('none' as const) : ('pending' as const);

  if (manual !== undefined && !(prior?.state === 'concluded' && prior.by === 'manual' && prior.since === manual.at)) {
    const winner = manual.winner ?? leader ?? prior?.winner;
    if (winner !== undefined) return { state: 'concluded', winner, since: manual.at, at: manual.at, by: 'manual', promotion, evidence: evidenceOf(winner) };
  }
  if (prior?.state === 'concluded') return prior;

  const conclude = experiment.conclude;
  if (conclude === undefined || leader === undefined) return undefined;
  const { when } = conclude;
  const best = candidates[leader]!;
  const holds = best.probabilityBest >= when.probabilityBest && (when.expectedLossBelow === undefined || best.expectedLoss < when.expectedLossBelow) && names.every((name) => candidates[name]!.trials >= when.minTrialsPerVariant);
  if (!holds) return undefined;
  const continuing = prior !== undefined && prior.winner === leader && (prior.state === 'pending' || prior.state === 'would_conclude');
  if (continuing && prior.state === 'would_conclude' && conclude.mode === 'dry-run') return { ...prior, evidence: prior.evidence };
  const since = continuing ? prior.since : Math.round(now);
  if (now - since < when.forSeconds * 1000) return { state: 'pending', winner: leader, since, by: 'auto', promotion: 'none', evidence: evidenceOf(leader) };
  if (conclude.mode === 'dry-run') return { state: 'would_conclude', winner: leader, since, at: Math.round(now), by: 'auto', promotion: 'none', evidence: evidenceOf(leader) };
  return { state: 'concluded', winner: leader, since, at: Math.round(now), by: 'auto', promotion, evidence: evidenceOf(leader) };
}

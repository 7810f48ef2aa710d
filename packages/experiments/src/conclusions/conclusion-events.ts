/**
 * The lifecycle events a new record calls for, compared with the record it replaces: a
 * guardrail that tripped, a dry-run that would conclude, an experiment that concluded with
 * nothing to promote. (A concluded experiment with a promotion is announced by whoever
 * finishes the promotion, so the event can name the promoted version.) Only the writer that
 * won the record's compare-and-set publishes them, so each happens once.
 */
import type { EventInput } from '@infermesh/shared';
import type { ExperimentConfig } from '../config/experiment-config.js';
import type { ConclusionView, RecordConclusion } from './conclusion-state.js';

/** The `infermesh.experiment.concluded` (or `would_conclude`) event of a conclusion. */
export function concludedEvent(model: string, conclusion: RecordConclusion, deployment: string | null, version: string | null): EventInput {
  const type = conclusion.state === 'would_conclude' ? 'infermesh.experiment.would_conclude' : 'infermesh.experiment.concluded';
  return {
    type,
    subject: model,
    data: { model, winner: conclusion.winner, by: conclusion.by, since: conclusion.since, at: conclusion.at ?? conclusion.since, deployment, version, evidence: { ...conclusion.evidence } },
  };
}

/** Events for what changed from `previous` to `next` (see the module comment). */
export function recordEvents(experiment: ExperimentConfig, previous: ConclusionView | undefined, next: ConclusionView): EventInput[] {
  const model = next.model;
  const events: EventInput[] = [];
  for (const [variant, stats] of Object.entries(next.variants)) {
    const trip = stats.guardrail;
    if (trip === undefined) continue;
    const before = previous?.variants[variant]?.guardrail;
    if (before !== undefined && before.trippedAt === trip.trippedAt && before.dryRun === trip.dryRun) continue;
    events.push({
      type: 'infermesh.experiment.guardrail_tripped',
      subject: model,
      data: { model, variant, metric: trip.metric, value: trip.value, max: trip.max, predictions: stats.measured?.predictions ?? 0, dryRun: trip.dryRun, trippedAt: trip.trippedAt, sequence: next.sequence },
    });
  }
  const conclusion = next.conclusion;
  const before = previous?.conclusion;
  const fresh = conclusion !== undefined && !(before !== undefined && before.state === conclusion.state && before.at === conclusion.at && before.winner === conclusion.winner);
  const deployment = experiment.conclude?.promote?.deployment ?? null;
  if (fresh && conclusion.state === 'would_conclude') events.push(concludedEvent(model, conclusion, deployment, null));
  if (fresh && conclusion.state === 'concluded' && conclusion.promotion === 'none') events.push(concludedEvent(model, conclusion, null, null));
  return events;
}

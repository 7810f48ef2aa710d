/**
 * Guardrails: a live variant whose measured error rate, default-output rate or p99 latency
 * exceeds its experiment's bound, once it has served `minPredictions`, is taken out of live
 * traffic (share 0, never the winner) until a person reopens the experiment. A trip is sticky:
 * the variant gets no traffic afterwards, so its measures could not show it recovered anyway.
 */
import type { ExperimentConfig } from '../config/experiment-config.js';
import type { GuardrailMetric } from '../config/conclude-config.js';
import type { MeasuredSummary } from '../evidence/guardrail-measures.js';
import type { ConclusionView, VariantGuardrail } from './conclusion-state.js';

/** The value of `metric` in `measured`; null when it has none (no latency yet). */
export function guardrailValue(metric: GuardrailMetric, measured: MeasuredSummary): number | null {
  if (metric === 'p99LatencyMs') return measured.p99LatencyMs;
  if (!(measured.predictions > 0)) return null;
  return (metric === 'errorRate' ? measured.errors : measured.defaults) / measured.predictions;
}

/**
 * The breached guardrail of each live variant, if any: a trip of the previous record is kept
 * (unless the experiment was reopened after it); otherwise the first guardrail whose metric
 * exceeds its max, for a variant with at least `minPredictions` predictions. In dry-run every
 * trip says `dryRun`. A trip that would leave no enabled live variant disables nothing (it is
 * reported as `dryRun`): some variant must answer.
 */
export function judgeGuardrails(experiment: ExperimentConfig, measured: Readonly<Record<string, MeasuredSummary | undefined>>, previous: ConclusionView | undefined, now: number): Record<string, VariantGuardrail> {
  const trips: Record<string, VariantGuardrail> = Object.create(null) as Record<string, VariantGuardrail>;
  const conclude = experiment.conclude;
  const reopenedAt = experiment.reopenedAt ?? Number.NEGATIVE_INFINITY;
  const live = experiment.variants.filter((variant) => variant.role === 'live');
  const fresh: string[] = [];
  for (const variant of live) {
    const prior = previous?.variants[variant.name]?.guardrail;
    if (prior !== undefined && !prior.dryRun && prior.trippedAt > reopenedAt) {
      trips[variant.name] = prior;
      continue;
    }
    const summary = measured[variant.name];
    if (conclude === undefined || summary === undefined || summary.predictions < conclude.minPredictions) continue;
    for (const guardrail of conclude.guardrails) {
      const value = guardrailValue(guardrail.metric, summary);
      if (value === null || !(value > guardrail.max)) continue;
      const since = prior !== undefined && prior.metric === guardrail.metric && prior.trippedAt > reopenedAt ? prior.trippedAt : Math.round(now);
      trips[variant.name] = { metric: guardrail.metric, value, max: guardrail.max, trippedAt: since, dryRun: conclude.mode === 'dry-run' };
      fresh.push(variant.name);
      break;
    }
  }
  const standing = () => live.some((variant) => variant.enabled && !(trips[variant.name] !== undefined && !trips[variant.name]!.dryRun));
  if (!standing()) for (const name of fresh) trips[name] = { ...trips[name]!, dryRun: true };
  // Still none (the kill switch took the last untripped one): every trip yields rather than leave clients without an answer.
  if (!standing()) for (const name of Object.keys(trips)) trips[name] = { ...trips[name]!, dryRun: true };
  return trips;
}

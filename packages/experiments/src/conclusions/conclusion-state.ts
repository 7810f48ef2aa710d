/**
 * The conclusion state a record carries (per variant: a breached guardrail; top level: where the
 * experiment stands on ending), and the part of a record the conclusion rule reads back.
 */
import type { GuardrailMetric } from '../config/conclude-config.js';
import type { MeasuredSummary } from '../evidence/guardrail-measures.js';

/** A breached guardrail of one variant. */
export interface VariantGuardrail {
  readonly metric: GuardrailMetric;
  readonly value: number;
  readonly max: number;
  /** Epoch ms it was first breached. */
  readonly trippedAt: number;
  /** True when nothing was disabled: the experiment is in dry-run, or it was the last live variant standing. */
  readonly dryRun: boolean;
}

/** Where an experiment stands on ending (see conclusions/decide-conclusion.ts). */
export interface RecordConclusion {
  /** pending: the rule holds, waiting `forSeconds`; concluded: all live traffic goes to the winner; would_conclude: dry-run. */
  readonly state: 'pending' | 'concluded' | 'would_conclude';
  readonly winner: string;
  /** Epoch ms the rule started holding (a manual conclusion: when it was asked for). */
  readonly since: number;
  /** Epoch ms it concluded (or would have). */
  readonly at?: number;
  readonly by: 'auto' | 'manual';
  /** What was promoted, once done. */
  readonly promoted?: { readonly deployment: string; readonly version: string };
  /** none: nothing to promote; pending: the aggregator that concluded (or any, after a crash) promotes; done; failed after retries. */
  readonly promotion: 'none' | 'pending' | 'done' | 'failed';
  /** Promotion attempts that failed so far. */
  readonly promotionAttempts?: number;
  /** Why the promotion failed, when it did. */
  readonly promotionError?: string;
  /** The winner's numbers in the record that concluded it (for pending: the current one). */
  readonly evidence: { readonly sequence: number; readonly probabilityBest: number; readonly expectedLoss: number; readonly trials: number };
}

/** What the conclusion rule and its events read of a record (an ExperimentRecord is one). */
export interface ConclusionView {
  readonly model: string;
  readonly sequence: number;
  readonly variants: Readonly<Record<string, { readonly guardrail?: VariantGuardrail; readonly measured?: MeasuredSummary }>>;
  readonly conclusion?: RecordConclusion;
}

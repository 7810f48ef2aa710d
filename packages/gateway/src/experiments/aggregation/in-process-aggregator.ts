import { InfermeshError, type EventInput, type Logger } from '@infermesh/shared';
import { computeRecord, countEvidence, discountOf, evidenceOf, VariantCounts, type ExperimentConfig, type RecordStore } from '@infermesh/experiments';

/** Milliseconds between record publications of the in-process aggregator. */
export const DEFAULT_LOCAL_PUBLISH_INTERVAL_MS = 1_000;
/** With discounting, evidence ages even without events: recompute at least this often, milliseconds. */
export const DISCOUNTED_RECOMPUTE_MS = 60_000;

/** An experiment as the aggregator sees it. */
export interface AggregatedExperiment {
  model: string;
  experiment: ExperimentConfig;
}

/** What the in-process aggregator needs. */
export interface InProcessAggregatorDependencies {
  /** The experiments to publish records for (the gateway's catalog). */
  experiments: () => readonly AggregatedExperiment[];
  store: RecordStore;
  /** Milliseconds since the epoch. */
  now: () => number;
  logger: Logger;
  intervalMs?: number;
  /** Called when computing a model's record failed (the previous record stays). */
  onFailure?: (model: string) => void;
}

/**
 * The aggregator of the embedded mesh: counts this gateway's trials and rewards and publishes
 * each experiment's record into the gateway's own record store at a fixed interval. The
 * gateway routes by those records exactly as it routes by records the aggregator service
 * publishes to Consul: unpublished counts never steer traffic.
 */
export class InProcessAggregator {
  private readonly counts: VariantCounts;
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  /** Events counted per model: a record is recomputed only when they, or the experiment, changed. */
  private readonly events = new Map<string, number>();
  private readonly computed = new Map<string, { events: number; experiment: ExperimentConfig; at: number }>();

  constructor(private readonly dependencies: InProcessAggregatorDependencies) {
    this.logger = dependencies.logger;
    this.counts = new VariantCounts((model) => {
      const policy = this.experimentOf(model)?.policy;
      return policy?.type === 'thompson' ? discountOf(policy) : undefined;
    });
  }

  /** Counts what a published event says (trials from predictions, rewards from feedback), at the current time. */
  observe(event: EventInput): void {
    const evidence = evidenceOf(event);
    if (evidence === undefined) return;
    const at = this.dependencies.now();
    countEvidence(this.counts, evidence, at);
    this.events.set(evidence.model, (this.events.get(evidence.model) ?? 0) + 1);
  }

  /** Publishes every experiment's record now and then at the interval. */
  start(): void {
    if (this.timer !== undefined) return;
    this.publishAll();
    this.timer = setInterval(() => this.publishAll(), this.dependencies.intervalMs ?? DEFAULT_LOCAL_PUBLISH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops publishing. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Computes and stores the record of every experiment (a config change calls it at once). */
  publishAll(): void {
    const { store, now } = this.dependencies;
    const at = now();
    const current = new Set<string>();
    for (const { model, experiment } of this.dependencies.experiments()) {
      current.add(model);
      try {
        const previous = store.get(model);
        const events = this.events.get(model) ?? 0;
        const last = this.computed.get(model);
        const discounted = experiment.policy.type === 'thompson' && experiment.policy.discountPerHour !== undefined;
        const pending = previous?.conclusion?.state === 'pending';
        if (previous !== undefined && !pending && last?.events === events && last.experiment === experiment && !(discounted && at - last.at >= DISCOUNTED_RECOMPUTE_MS)) {
          // Nothing new: the same record and sequence, stamped again, so its age keeps saying the aggregator is alive.
          store.put({ ...previous, generatedAt: Math.round(at) });
          continue;
        }
        store.put(computeRecord({ model, experiment, statistics: this.counts.statistics(model, at), previous, now: at }));
        this.computed.set(model, { events, experiment, at });
      } catch (error) {
        const typed = InfermeshError.from(error);
        this.dependencies.onFailure?.(model);
        // A record that cannot be computed freezes the experiment: someone must look.
        this.logger.error({ model, code: typed.code, reason: typed.message }, 'cannot compute the experiment record; routing keeps the previous one');
      }
    }
    for (const model of store.models()) if (!current.has(model)) store.delete(model);
  }

  private experimentOf(model: string): ExperimentConfig | undefined {
    return this.dependencies.experiments().find((entry) => entry.model === model)?.experiment;
  }
}

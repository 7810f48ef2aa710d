import { InfermeshError, type EventInput, type EventPublisher, type Logger } from '@infermesh/shared';
import {
  computeRecord,
  concludedEvent,
  countEvidence,
  discountOf,
  evidenceOf,
  promoteWinner,
  recordEvents,
  VariantCounts,
  type ExperimentConfig,
  type ExperimentRecord,
  type PromotionRegistry,
  type RecordStore,
} from '@infermesh/experiments';

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
  /** The experiments' bounded history: told of every record published (it never throws). */
  history?: { append(record: ExperimentRecord, now: number): Promise<unknown> };
  /** Called when computing a model's record failed (the previous record stays). */
  onFailure?: (model: string) => void;
  /** Where a concluded experiment's winner is promoted (the registry the workers follow); absent: conclusions promote nothing. */
  registry?: PromotionRegistry;
  /** Where lifecycle events (concluded, guardrail_tripped, would_conclude) go. */
  lifecycle?: Pick<EventPublisher, 'publish'>;
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
  /** Models whose pending promotion is under way: one attempt at a time. */
  private readonly promoting = new Set<string>();

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
          this.publish({ ...previous, generatedAt: Math.round(at) }, at);
          continue;
        }
        const record = computeRecord({ model, experiment, statistics: this.counts.statistics(model, at), previous, now: at });
        this.publish(record, at);
        this.computed.set(model, { events, experiment, at });
        for (const event of recordEvents(experiment, previous, record)) void this.announce(event);
      } catch (error) {
        const typed = InfermeshError.from(error);
        this.dependencies.onFailure?.(model);
        // A record that cannot be computed freezes the experiment: someone must look.
        this.logger.error({ model, code: typed.code, reason: typed.message }, 'cannot compute the experiment record; routing keeps the previous one');
      }
    }
    for (const model of store.models()) if (!current.has(model)) store.delete(model);
    for (const { model, experiment } of this.dependencies.experiments()) {
      const record = store.get(model);
      if (record?.conclusion?.promotion === 'pending' && !this.promoting.has(model)) void this.promote(model, experiment, record);
    }
  }

  /** One promotion attempt of a concluded experiment's winner; the outcome goes into the record, and a finished one is announced. */
  private async promote(model: string, experiment: ExperimentConfig, record: ExperimentRecord): Promise<void> {
    const registry = this.dependencies.registry;
    if (registry === undefined) return;
    this.promoting.add(model);
    try {
      const conclusion = await promoteWinner(model, experiment, record.conclusion!, registry);
      const current = this.dependencies.store.get(model);
      if (current === undefined || current.conclusion?.promotion !== 'pending') return;
      // New content, so a new sequence (the layout is unchanged).
      this.dependencies.store.put({ ...current, sequence: current.sequence + 1, generatedAt: Math.max(current.generatedAt, Math.round(this.dependencies.now())), conclusion });
      if (conclusion.promotion === 'pending') {
        this.logger.warn({ model, reason: conclusion.promotionError }, 'promoting the winner failed; retrying at the next publication');
        return;
      }
      if (conclusion.promotion === 'failed') this.logger.error({ model, reason: conclusion.promotionError }, 'cannot promote the winner of a concluded experiment; promote it by hand');
      else this.logger.info({ model, winner: conclusion.winner, promoted: conclusion.promoted }, 'experiment concluded');
      await this.announce(concludedEvent(model, conclusion, conclusion.promoted?.deployment ?? experiment.conclude?.promote?.deployment ?? null, conclusion.promoted?.version ?? null));
    } finally {
      this.promoting.delete(model);
    }
  }

  private async announce(event: EventInput): Promise<void> {
    try {
      await this.dependencies.lifecycle?.publish(event);
    } catch (error) {
      this.logger.error({ err: error, type: event.type, model: event.subject }, 'cannot publish a lifecycle event');
    }
  }

  private publish(record: ExperimentRecord, at: number): void {
    if (!this.dependencies.store.put(record)) return;
    // Not awaited: routing never waits for the history, which keeps one write per model in flight.
    void this.dependencies.history?.append(record, at);
  }

  private experimentOf(model: string): ExperimentConfig | undefined {
    return this.dependencies.experiments().find((entry) => entry.model === model)?.experiment;
  }
}

import { InfermeshError, RECORDS_PREFIX, type EventInput, type EventPublisher, type KvEntry, type KvStore, type Logger } from '@infermesh/shared';
import {
  checkExperimentRecord,
  computeRecord,
  concludedEvent,
  promoteWinner,
  recordEvents,
  type ExperimentConfig,
  type PromotionRegistry,
  mergeCounts,
  parseExperimentRecord,
  summarizeMeasures,
  VariantCounts,
  type CountedVariant,
  type CountsByModel,
  type Discount,
  type ExperimentRecord,
} from '@infermesh/experiments';
import type { AggregatorMetrics, RecordAges } from '../metrics/aggregator-metrics.js';
import type { PartitionState } from '../state/partition-state.js';
import type { WatchedExperiment } from './experiment-watcher.js';

/**
 * A record as the aggregator publishes it: the gateway's record plus where it comes from.
 * Gateways ignore the extra fields; people and the next publication read them.
 */
export interface PublishedRecord extends ExperimentRecord {
  /** KV index of the experiment config it was computed under. */
  readonly experimentRevision: number;
  /** Per partition (`topic/partition`), the next offset: the record sums every message below it. */
  readonly offsets: Readonly<Record<string, string>>;
}

/** What the publisher needs. */
export interface RecordPublisherDependencies {
  kv: KvStore;
  /** Every partition state of the event topics, whoever owns the partition. */
  states: { list(topics: readonly string[]): Promise<PartitionState[]> };
  topics: readonly string[];
  experiments: { all(): WatchedExperiment[]; discountFor(model: string): Discount | undefined };
  metrics: AggregatorMetrics;
  logger: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Posterior draws per record (tests lower it). */
  samples?: number;
  /** Where a concluded experiment's winner is promoted (shared's ModelRegistry over the same KV). */
  registry: PromotionRegistry;
  /** Where lifecycle events (concluded, guardrail_tripped, would_conclude) go: spooled, so a Kafka outage loses none. */
  events: Pick<EventPublisher, 'publish'>;
  /** The experiments' bounded history: told of every record this instance published (it never throws). */
  history?: { append(record: ExperimentRecord, now: number): Promise<unknown> };
}

/**
 * Publishes every experiment's record at `stats/{model}`: the sum of all partitions' stored
 * states (whoever owns them), shares and P(best) from the gateway's own `computeRecord`, written
 * by compare-and-set on the previous record. A lost race means another instance published from
 * the same states: nothing to do. The sequence moves only when the content does: when neither
 * the evidence nor the experiment changed (and nothing is discounted), the previous record is
 * written again with its sequence and a new `generatedAt` (and offsets), so its age keeps saying
 * the aggregator is alive, a sequence names one content, and P(best) has no Monte Carlo noise.
 */
export class RecordPublisher implements RecordAges {
  private readonly newest = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(private readonly dependencies: RecordPublisherDependencies) {}

  /** Generation time of the newest record seen or published, by model. */
  generatedAt(): ReadonlyMap<string, number> {
    return this.newest;
  }

  /**
   * Publishes the record of every experiment once. Returns the first error KV answered with
   * (undefined when every request succeeded): the caller reports outages for the whole round.
   */
  async publishAll(): Promise<unknown> {
    const { states, topics, experiments, metrics, logger } = this.dependencies;
    const watched = experiments.all();
    for (const model of [...this.newest.keys()]) if (!watched.some((entry) => entry.model === model)) this.newest.delete(model);
    let stored: PartitionState[];
    try {
      stored = await states.list(topics);
    } catch (error) {
      const typed = InfermeshError.from(error);
      for (const { model } of watched) metrics.recordPublishFailures.inc({ model, reason: typed.code === 'INVALID_CONFIG' ? 'compute' : 'unavailable' });
      if (typed.code !== 'INVALID_CONFIG') return error;
      this.reportOnce(typed.message, () => logger.error({ reason: typed.message }, 'a partition state cannot be read; no record is published until it is fixed'));
      return undefined;
    }
    if (watched.length === 0) return undefined;
    const counts = mergeCounts(stored.map((state) => state.counts), (model) => experiments.discountFor(model));
    const offsets = Object.fromEntries(stored.map((state) => [`${state.topic}/${state.partition}`, state.offset]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
    let failure: unknown;
    for (const entry of watched) failure ??= await this.publish(entry, counts, offsets);
    return failure;
  }

  /** Publishes one model's record; returns the KV error if KV could not be reached. */
  private async publish({ model, experiment, revision }: WatchedExperiment, counts: CountsByModel, offsets: Record<string, string>): Promise<unknown> {
    const { kv, metrics, logger, experiments } = this.dependencies;
    const key = `${RECORDS_PREFIX}${model}`;
    let entry: KvEntry | undefined;
    try {
      entry = await kv.get(key);
    } catch (error) {
      metrics.recordPublishFailures.inc({ model, reason: 'unavailable' });
      return error;
    }
    const previous = this.previousRecord(model, entry);
    const now = this.dependencies.now();
    let record: PublishedRecord;
    try {
      const discount = experiments.discountFor(model);
      const statistics = new VariantCounts(() => discount, { [model]: counts[model] ?? {} }).statistics(model, now);
      const names = new Set([...experiment.variants.map((variant) => variant.name), ...Object.keys(statistics)]);
      // A pending conclusion moves with time alone (it concludes once it has held long enough).
      const same = previous !== undefined && discount === undefined && previous.conclusion?.state !== 'pending' && previous.experimentRevision === revision && sameEvidence(previous, statistics, names);
      record = same
        ? { ...previous, generatedAt: Math.round(now), experimentRevision: revision, offsets }
        : { ...computeRecord({ model, experiment, statistics, previous, now, ...(this.dependencies.samples ? { samples: this.dependencies.samples } : {}) }), experimentRevision: revision, offsets };
      // The gateways would refuse an invalid record; refusing it here keeps the last good one in place.
      checkExperimentRecord(model, JSON.parse(JSON.stringify(record)));
    } catch (error) {
      metrics.recordPublishFailures.inc({ model, reason: 'compute' });
      const reason = InfermeshError.from(error).message;
      this.reportOnce(`${model}|${reason}`, () => logger.error({ model, reason }, 'cannot compute the experiment record; gateways keep the previous one'));
      return undefined;
    }
    let written: boolean;
    try {
      written = await kv.compareAndSet(key, JSON.stringify(record), entry?.index ?? 0);
    } catch (error) {
      metrics.recordPublishFailures.inc({ model, reason: 'unavailable' });
      return error;
    }
    if (!written) {
      metrics.recordPublishConflicts.inc({ model });
      return undefined;
    }
    metrics.recordsPublished.inc({ model });
    this.newest.set(model, record.generatedAt);
    await this.dependencies.history?.append(record, now);
    // Only the writer that won the compare-and-set acts on what the record changed: one event each.
    for (const event of recordEvents(experiment, previous, record)) await this.announce(event);
    if (record.conclusion?.promotion === 'pending') return this.promote(model, experiment, record);
    return undefined;
  }

  /**
   * Carries out a pending promotion of the record this instance just wrote, then records the
   * outcome by compare-and-set on it; whoever's outcome is stored announces the conclusion. A
   * crash before that leaves `pending`, which the next publication (by any instance) retries.
   */
  private async promote(model: string, experiment: ExperimentConfig, record: PublishedRecord): Promise<unknown> {
    const { kv, registry, logger } = this.dependencies;
    const key = `${RECORDS_PREFIX}${model}`;
    const conclusion = await promoteWinner(model, experiment, record.conclusion!, registry);
    if (conclusion.promotion === 'failed') logger.error({ model, winner: conclusion.winner, reason: conclusion.promotionError }, 'cannot promote the winner of a concluded experiment; promote it by hand');
    else if (conclusion.promotion === 'pending') logger.warn({ model, winner: conclusion.winner, reason: conclusion.promotionError, attempts: conclusion.promotionAttempts }, 'promoting the winner failed; retrying at the next publication');
    // New content, so a new sequence (the layout is unchanged): gateways take it as a newer record.
    const next: PublishedRecord = { ...record, sequence: record.sequence + 1, generatedAt: Math.max(record.generatedAt, Math.round(this.dependencies.now())), conclusion };
    try {
      const stored = await kv.get(key);
      // The record this instance wrote must still be the stored one: otherwise another instance has taken over.
      if (stored === undefined || stored.value !== JSON.stringify(record)) return undefined;
      if (!(await kv.compareAndSet(key, JSON.stringify(next), stored.index))) return undefined;
    } catch (error) {
      return error;
    }
    this.newest.set(model, next.generatedAt);
    if (conclusion.promotion !== 'pending') {
      logger.info({ model, winner: conclusion.winner, promoted: conclusion.promoted ?? null }, 'experiment concluded');
      await this.announce(concludedEvent(model, conclusion, conclusion.promoted?.deployment ?? experiment.conclude?.promote?.deployment ?? null, conclusion.promoted?.version ?? null));
    }
    return undefined;
  }

  /** Publishes a lifecycle event; the spool keeps it through a Kafka outage, so only a local failure is logged here. */
  private async announce(event: EventInput): Promise<void> {
    try {
      await this.dependencies.events.publish(event);
    } catch (error) {
      this.dependencies.logger.error({ err: error, type: event.type, model: event.subject }, 'cannot publish a lifecycle event');
    }
  }

  /** The record stored for `model`, if it is one the gateways accept (an invalid one is overwritten, from sequence 1). */
  private previousRecord(model: string, entry: KvEntry | undefined): (ExperimentRecord & Partial<PublishedRecord>) | undefined {
    if (entry === undefined) return undefined;
    try {
      const record = parseExperimentRecord(model, entry.value) as ExperimentRecord & Partial<PublishedRecord>;
      if (record.generatedAt > (this.newest.get(model) ?? 0)) this.newest.set(model, record.generatedAt);
      return record;
    } catch (error) {
      this.reportOnce(`${model}|invalid|${entry.index}`, () => this.dependencies.logger.warn({ model, reason: InfermeshError.from(error).message }, 'the stored record is invalid; replacing it'));
      return undefined;
    }
  }

  private reportOnce(key: string, report: () => void): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    report();
  }
}

/** True when the record holds exactly this evidence (and these guardrail measures) for exactly these variants. */
function sameEvidence(record: ExperimentRecord, statistics: Readonly<Record<string, CountedVariant>>, names: ReadonlySet<string>): boolean {
  const held = Object.keys(record.variants);
  if (held.length !== names.size || !held.every((name) => names.has(name))) return false;
  return held.every((name) => {
    const before = record.variants[name]!;
    const now = statistics[name] ?? { trials: 0, rewardSum: 0, rewardSumSquares: 0, updatedAt: 0 };
    const measured = now.measured === undefined ? undefined : summarizeMeasures(now.measured);
    return before.trials === now.trials && before.rewardSum === now.rewardSum && before.rewardSumSquares === now.rewardSumSquares && JSON.stringify(before.measured) === JSON.stringify(measured);
  });
}

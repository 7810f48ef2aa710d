import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvidenceKind } from '../state/partition-state.js';

/** What the record-age gauge reads at scrape time. */
export interface RecordAges {
  /** Generation time (epoch ms) of the newest record seen, by model. */
  generatedAt(): ReadonlyMap<string, number>;
}

/** What the gauges computed at scrape time read. */
export interface MetricSources {
  records: RecordAges;
  /** Prediction ids the owned partitions remember, by kind. */
  rememberedIds(): Record<EvidenceKind, number>;
}

/** The aggregator's metrics, on an injected registry. */
export class AggregatorMetrics {
  /** Messages read at or past a partition's stored offset, by CloudEvents type (`invalid`: unreadable, `other`: unknown type). */
  readonly eventsConsumed: Counter<'type'>;
  /** Messages re-read below the stored offset to rebuild the deduplication memory (never counted). */
  readonly eventsReplayed: Counter;
  /** Trials or rewards not counted because their prediction id was already counted. */
  readonly duplicatesSkipped: Counter<'kind'>;
  /** Prediction ids forgotten by the size bound while inside their window. */
  readonly dedupeEvictions: Counter<'kind'>;
  /** Messages between the last one counted and the end of the partition. */
  readonly partitionLag: Gauge<'topic' | 'partition'>;
  readonly partitionsOwned: Gauge;
  /** Partition state writes by outcome (`written`, `conflict`: another instance had taken over, `failed`). */
  readonly stateWrites: Counter<'outcome'>;
  readonly recordsPublished: Counter<'model'>;
  /** Records not published: `unavailable` (Consul), `compute` (the record could not be computed). */
  readonly recordPublishFailures: Counter<'model' | 'reason'>;
  /** Records another instance published first from the same state (harmless). */
  readonly recordPublishConflicts: Counter<'model'>;
  /** 1 while the upstream answers, 0 during an outage. */
  readonly upstreamUp: Gauge<'upstream'>;

  constructor(registry: Registry, sources: MetricSources, now: () => number) {
    const registers = [registry];
    this.eventsConsumed = new Counter({ name: 'infermesh_aggregator_events_consumed_total', help: 'Kafka messages read at or past the stored offset of their partition, by CloudEvents type (invalid: unreadable; other: a type this version does not know).', labelNames: ['type'], registers });
    this.eventsReplayed = new Counter({ name: 'infermesh_aggregator_events_replayed_total', help: 'Messages re-read below the stored offset to rebuild the deduplication memory after an assignment; never counted.', registers });
    this.duplicatesSkipped = new Counter({ name: 'infermesh_aggregator_duplicates_skipped_total', help: 'Trials and rewards not counted because their prediction id was already counted (resent batches, a token redeemed twice).', labelNames: ['kind'], registers });
    this.dedupeEvictions = new Counter({ name: 'infermesh_aggregator_dedupe_evictions_total', help: 'Prediction ids forgotten by --dedupe-max-ids while still inside their window: a later duplicate of one would be counted.', labelNames: ['kind'], registers });
    this.partitionLag = new Gauge({ name: 'infermesh_aggregator_partition_lag_messages', help: 'Messages between the last one read and the end of the partition, per owned partition.', labelNames: ['topic', 'partition'], registers });
    this.partitionsOwned = new Gauge({ name: 'infermesh_aggregator_partitions_owned', help: 'Partitions of the prediction and feedback topics this instance owns in the consumer group.', registers });
    this.stateWrites = new Counter({ name: 'infermesh_aggregator_state_writes_total', help: 'Compare-and-set writes of partition states, by outcome (written; conflict: another instance took the partition over; failed: Consul unreachable).', labelNames: ['outcome'], registers });
    this.recordsPublished = new Counter({ name: 'infermesh_aggregator_records_published_total', help: 'Experiment records written to stats/{model}.', labelNames: ['model'], registers });
    this.recordPublishFailures = new Counter({ name: 'infermesh_aggregator_record_publish_failures_total', help: 'Experiment records not published, by reason (unavailable: Consul; compute: the record could not be computed).', labelNames: ['model', 'reason'], registers });
    this.recordPublishConflicts = new Counter({ name: 'infermesh_aggregator_record_publish_conflicts_total', help: 'Experiment records another instance published first from the same partition states (harmless).', labelNames: ['model'], registers });
    this.upstreamUp = new Gauge({ name: 'infermesh_aggregator_upstream_up', help: '1 while the upstream (kafka, consul) answers, 0 during an outage.', labelNames: ['upstream'], registers });
    this.upstreamUp.set({ upstream: 'kafka' }, 0);
    this.upstreamUp.set({ upstream: 'consul' }, 0);
    new Gauge({
      name: 'infermesh_aggregator_record_age_seconds',
      help: 'Age of the newest experiment record seen or published, by model: grows while records cannot be published.',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const [model, generatedAt] of sources.records.generatedAt()) this.set({ model }, Math.max(0, (now() - generatedAt) / 1000));
      },
    });
    new Gauge({
      name: 'infermesh_aggregator_dedupe_ids',
      help: 'Prediction ids the owned partitions remember to skip duplicates, by kind (bounded by --dedupe-max-ids per partition).',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, count] of Object.entries(sources.rememberedIds())) this.set({ kind }, count);
      },
    });
  }

  /** Counts a message by what the tally did with it. */
  observe(type: string, outcome: 'counted' | 'duplicate' | 'replayed' | 'ignored', kind: EvidenceKind | undefined): void {
    if (outcome === 'replayed') {
      this.eventsReplayed.inc();
      return;
    }
    this.eventsConsumed.inc({ type });
    if (outcome === 'duplicate' && kind !== undefined) this.duplicatesSkipped.inc({ kind });
  }
}

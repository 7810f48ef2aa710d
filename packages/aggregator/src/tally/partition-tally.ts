import { countEvidence, VariantCounts, type Discount, type Evidence } from '@infermesh/experiments';
import type { EvidenceKind, TallySnapshot } from '../state/partition-state.js';
import { DedupeWindow } from './dedupe-window.js';

/** One Kafka message as the tally sees it. */
export interface TallyMessage {
  /** The message's offset (decimal int64). */
  offset: string;
  /** Kafka message timestamp, epoch milliseconds (the event's time: the sink sets it so). */
  timestampMs: number;
  evidence: Evidence | undefined;
  /** The event's own time, epoch milliseconds: discounting ages evidence from it. */
  eventTimeMs: number;
}

/**
 * What became of a message: counted; a duplicate of evidence already counted; below the
 * tally's offset, so only remembered for deduplication (the log re-read after a restart);
 * or no evidence at all.
 */
export type TallyOutcome = 'counted' | 'duplicate' | 'replayed' | 'ignored';

/** What a partition tally is built from. */
export interface PartitionTallyOptions {
  topic: string;
  partition: number;
  /** Where to resume: counts and offset as stored. */
  snapshot: TallySnapshot;
  /** Event time each kind is deduplicated over, milliseconds. */
  windowMs: Readonly<Record<EvidenceKind, number>>;
  /** Most prediction ids remembered per kind. */
  maxIds: number;
  discountFor: (model: string) => Discount | undefined;
  /** Told of a prediction id evicted by the size bound while inside its window. */
  onEvicted?: (kind: EvidenceKind) => void;
}

/**
 * One partition's tally: trials and rewards counted from its messages in log order, each
 * prediction id at most once per kind (the first trial, the first reward), and the offset up
 * to which it has counted. Messages below that offset are never counted again; feeding them
 * rebuilds the deduplication memory a previous owner had. Pure: no clock, no I/O.
 */
export class PartitionTally {
  readonly topic: string;
  readonly partition: number;
  private next: bigint;
  private readonly counts: VariantCounts;
  private readonly windows: Record<EvidenceKind, DedupeWindow>;
  private changes = 0;

  constructor(private readonly options: PartitionTallyOptions) {
    const { snapshot } = options;
    this.topic = options.topic;
    this.partition = options.partition;
    this.next = BigInt(snapshot.offset);
    this.counts = new VariantCounts(options.discountFor, snapshot.counts);
    const window = (kind: EvidenceKind) =>
      new DedupeWindow({ windowMs: options.windowMs[kind], maxIds: options.maxIds, onEvicted: () => options.onEvicted?.(kind) }, snapshot.newest[kind] ?? undefined);
    this.windows = { trial: window('trial'), reward: window('reward') };
  }

  /** Next offset to count. */
  get offset(): string {
    return this.next.toString();
  }

  /** Grows with every message at or above the offset: unchanged means nothing new to store. */
  get version(): number {
    return this.changes;
  }

  /** Prediction ids remembered, by kind. */
  remembered(): Record<EvidenceKind, number> {
    return { trial: this.windows.trial.size, reward: this.windows.reward.size };
  }

  /** Applies one message of this partition, in log order. */
  apply(message: TallyMessage): TallyOutcome {
    const offset = BigInt(message.offset);
    const { evidence } = message;
    if (offset < this.next) {
      if (evidence !== undefined) this.windows[evidence.kind].remember(evidence.predictionId, message.timestampMs);
      return 'replayed';
    }
    this.next = offset + 1n;
    this.changes += 1;
    if (evidence === undefined) return 'ignored';
    const window = this.windows[evidence.kind];
    window.advance(message.timestampMs);
    if (window.has(evidence.predictionId)) return 'duplicate';
    window.remember(evidence.predictionId, message.timestampMs);
    countEvidence(this.counts, evidence, message.eventTimeMs);
    return 'counted';
  }

  /**
   * Skips to `offset` without counting what lies between: only for messages the log no longer
   * holds (deleted by retention before anyone counted them).
   */
  skipTo(offset: string): void {
    const target = BigInt(offset);
    if (target <= this.next) return;
    this.next = target;
    this.changes += 1;
  }

  /**
   * Per kind with evidence, the earliest event time still remembered (`newest − window`): the
   * log must be re-read from the first message at or after it to rebuild the memory.
   */
  rebuildFrom(): number[] {
    return Object.values(this.windows).flatMap((window) => (window.newest === undefined ? [] : [window.horizon()]));
  }

  /** The counts and offset to store. */
  snapshot(): TallySnapshot {
    return {
      offset: this.offset,
      newest: { trial: this.windows.trial.newest ?? null, reward: this.windows.reward.newest ?? null },
      counts: this.counts.toJSON(),
    };
  }
}

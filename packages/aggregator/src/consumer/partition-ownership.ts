import type { Logger } from '@infermesh/shared';
import type { TallySnapshot } from '../state/partition-state.js';
import type { PartitionStateStore } from '../state/partition-state-store.js';
import type { PartitionTally } from '../tally/partition-tally.js';
import type { OffsetLookup } from './kafka-partition-offsets.js';

/** A partition ready to be read: its tally, and where the log must be read from first (if not where Kafka is). */
export interface PreparedPartition {
  tally: PartitionTally;
  /** Offset to seek to before counting: the start of the re-read that rebuilds the deduplication memory. */
  seekTo: string | undefined;
}

/** What a flush did: offsets stored (to commit to Kafka) and the last write failure, if any. */
export interface FlushResult {
  written: WrittenOffset[];
  failure: unknown;
}

/** A partition state written to KV: its offset may now be committed to Kafka. */
export interface WrittenOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** What the ownership needs. */
export interface PartitionOwnershipDependencies {
  store: PartitionStateStore;
  offsets: OffsetLookup;
  /** A tally resuming from `snapshot`. */
  createTally(topic: string, partition: number, snapshot: TallySnapshot): PartitionTally;
  logger: Logger;
  /** Counts a state write by outcome. */
  onWrite?(outcome: 'written' | 'conflict' | 'failed'): void;
  /** Told when a partition is no longer owned (its metrics labels go). */
  onReleased?(topic: string, partition: number): void;
}

/** One owned partition: not loaded yet, or its tally and what KV held when this instance last read or wrote it. */
interface Owned {
  topic: string;
  partition: number;
  tally: PartitionTally | undefined;
  /** KV index to compare-and-set on; undefined when a write landed but its index could not be read back. */
  index: number | undefined;
  /** The value this instance last read or wrote, to recognise its own write when the index is unknown. */
  raw: string | undefined;
  /** Tally version last stored. */
  writtenVersion: number;
}

const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * The partitions this instance owns in the consumer group, each with its tally. A partition is
 * loaded from its stored state when first read, and every write is a compare-and-set on the
 * index last seen: if another instance stored progress in between (a rebalance, a restarted
 * instance that still thought it owned it), the write is refused and the partition reloaded
 * from that state, so two owners never both count a message into what is stored.
 */
export class PartitionOwnership {
  private readonly owned = new Map<string, Owned>();

  constructor(private readonly dependencies: PartitionOwnershipDependencies) {}

  /** Applies a group assignment (`{topic: [partitions]}`): partitions kept keep their tally. */
  assign(assignment: Readonly<Record<string, readonly number[]>>): void {
    const wanted = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => keyOf(topic, partition))));
    for (const [key, entry] of this.owned) {
      if (wanted.has(key)) continue;
      this.owned.delete(key);
      this.dependencies.onReleased?.(entry.topic, entry.partition);
    }
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        if (!this.owned.has(key)) this.owned.set(key, { topic, partition, tally: undefined, index: undefined, raw: undefined, writtenVersion: 0 });
      }
    }
  }

  /** Partitions owned. */
  count(): number {
    return this.owned.size;
  }

  /** Tallies of the loaded partitions. */
  tallies(): PartitionTally[] {
    return [...this.owned.values()].flatMap((entry) => (entry.tally === undefined ? [] : [entry.tally]));
  }

  /**
   * The partition's tally, loading it on first use: from its stored state (or from the start of
   * the log without one), with the offset to re-read from so the deduplication memory is what
   * the previous owner had. Undefined when the partition is not (or no longer) owned.
   */
  async prepare(topic: string, partition: number): Promise<PreparedPartition | undefined> {
    const key = keyOf(topic, partition);
    const entry = this.owned.get(key);
    if (entry === undefined) return undefined;
    if (entry.tally !== undefined) return { tally: entry.tally, seekTo: undefined };
    const { store, offsets, createTally, logger } = this.dependencies;
    const stored = await store.read(topic, partition);
    const earliest = await offsets.earliest(topic, partition);
    const tally = createTally(topic, partition, stored?.state ?? { offset: earliest, newest: { trial: null, reward: null }, counts: {} });
    this.skipDeleted(tally, earliest);
    let seekTo = BigInt(tally.offset);
    for (const from of tally.rebuildFrom()) {
      const start = BigInt(await offsets.atTimestamp(topic, partition, from));
      if (start < seekTo) seekTo = start;
    }
    if (seekTo < BigInt(earliest)) seekTo = BigInt(earliest);
    // Reassigned while loading: whoever owns it now loads it again.
    if (this.owned.get(key) !== entry) return undefined;
    Object.assign(entry, { tally, index: stored?.index ?? 0, raw: stored?.raw, writtenVersion: 0 });
    logger.info({ topic, partition, offset: tally.offset, rereadFrom: seekTo.toString(), resumed: stored !== undefined }, 'partition loaded');
    return { tally, seekTo: seekTo.toString() };
  }

  /**
   * Called when Kafka delivers a partition from beyond its tally's offset (retention deleted
   * messages, or Kafka reset the position): returns where to read from so nothing is skipped
   * that the log still holds.
   */
  async realign(topic: string, partition: number): Promise<string | undefined> {
    const entry = this.owned.get(keyOf(topic, partition));
    if (entry?.tally === undefined) return undefined;
    this.skipDeleted(entry.tally, await this.dependencies.offsets.earliest(topic, partition));
    return entry.tally.offset;
  }

  /**
   * Writes every loaded partition whose tally moved since its last write (compare-and-set).
   * Returns the offsets written, to commit to Kafka; a lost write drops the tally (reloaded
   * from the winner's state on the next batch); a failed one is tried again at the next flush.
   */
  async flush(): Promise<FlushResult> {
    const { store, logger, onWrite } = this.dependencies;
    const written: WrittenOffset[] = [];
    let failure: unknown;
    for (const [key, entry] of this.owned) {
      const tally = entry.tally;
      if (tally === undefined || tally.version === entry.writtenVersion) continue;
      const version = tally.version;
      const snapshot = tally.snapshot();
      try {
        const index = await this.knownIndex(entry);
        const outcome = index === undefined ? ({ kind: 'conflict' } as const) : await store.write(entry.topic, entry.partition, snapshot, index);
        if (this.owned.get(key) !== entry || entry.tally !== tally) continue;
        if (outcome.kind === 'conflict') {
          onWrite?.('conflict');
          logger.info({ topic: entry.topic, partition: entry.partition }, 'another instance stored this partition meanwhile; reloading it from that state');
          Object.assign(entry, { tally: undefined, index: undefined, raw: undefined, writtenVersion: 0 });
          continue;
        }
        Object.assign(entry, { index: outcome.index, raw: outcome.raw, writtenVersion: version });
        written.push({ topic: entry.topic, partition: entry.partition, offset: snapshot.offset });
        onWrite?.('written');
      } catch (error) {
        onWrite?.('failed');
        failure = error;
      }
    }
    return { written, failure };
  }

  /** The index to compare-and-set on; after a write whose index was not read back, found again if the stored value is still ours. */
  private async knownIndex(entry: Owned): Promise<number | undefined> {
    if (entry.index !== undefined) return entry.index;
    const stored = await this.dependencies.store.read(entry.topic, entry.partition);
    if (stored === undefined || stored.raw !== entry.raw) return undefined;
    entry.index = stored.index;
    return stored.index;
  }

  private skipDeleted(tally: PartitionTally, earliest: string): void {
    if (BigInt(tally.offset) >= BigInt(earliest)) return;
    // Only retention deletes messages nobody counted: the records miss them, someone should know.
    this.dependencies.logger.error({ topic: tally.topic, partition: tally.partition, from: tally.offset, to: earliest }, 'messages were deleted by retention before they were counted; counting resumes after them');
    tally.skipTo(earliest);
  }
}

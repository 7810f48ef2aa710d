import type { KvStore } from '@infermesh/shared';
import { parsePartitionState, partitionStateKey, partitionStatesPrefix, PARTITION_STATE_VERSION, type PartitionState, type TallySnapshot } from './partition-state.js';

/** A stored state with the KV index it was read at (what compare-and-set takes back). */
export interface StoredPartitionState {
  state: PartitionState;
  index: number;
  /** The stored text, to recognise a value this instance wrote. */
  raw: string;
}

/** Outcome of a write: `written` (with the new index, when it could be read back) or `conflict`. */
export type WriteOutcome = { kind: 'written'; index: number | undefined; raw: string } | { kind: 'conflict' };

/**
 * The partition states of one consumer group in KV, written only by compare-and-set. A write
 * that loses means another instance took the partition over and stored its own progress: the
 * loser must reload, never overwrite.
 */
export class PartitionStateStore {
  private writes = 0;

  constructor(
    private readonly kv: KvStore,
    private readonly groupId: string,
    /** This instance, as written into every state (with a write number, every stored value is unique). */
    private readonly writer: string,
    private readonly now: () => number,
  ) {}

  /** The stored state of a partition, if any; throws INVALID_CONFIG for one that cannot be read. */
  async read(topic: string, partition: number): Promise<StoredPartitionState | undefined> {
    const key = partitionStateKey(this.groupId, topic, partition);
    const entry = await this.kv.get(key);
    if (entry === undefined) return undefined;
    return { state: parsePartitionState(key, entry.value), index: entry.index, raw: entry.value };
  }

  /** Every stored state of the given topics (what the records are summed from). */
  async list(topics: readonly string[]): Promise<PartitionState[]> {
    const wanted = new Set(topics);
    const entries = await this.kv.list(partitionStatesPrefix(this.groupId));
    return entries.map((entry) => parsePartitionState(entry.key, entry.value)).filter((state) => wanted.has(state.topic));
  }

  /**
   * Stores `snapshot` if the key is still at `index` (0: absent). The new index is read back and
   * accepted only if the value there is ours; if another instance wrote in between, the write
   * counts as lost. An index that cannot be read back (Consul went away) is left undefined.
   */
  async write(topic: string, partition: number, snapshot: TallySnapshot, index: number): Promise<WriteOutcome> {
    const key = partitionStateKey(this.groupId, topic, partition);
    this.writes += 1;
    const state: PartitionState = { version: PARTITION_STATE_VERSION, topic, partition, ...snapshot, writer: this.writer, write: this.writes, writtenAt: Math.round(this.now()) };
    const raw = JSON.stringify(state);
    if (!(await this.kv.compareAndSet(key, raw, index))) return { kind: 'conflict' };
    try {
      const entry = await this.kv.get(key);
      return entry?.value === raw ? { kind: 'written', index: entry.index, raw } : { kind: 'conflict' };
    } catch {
      return { kind: 'written', index: undefined, raw };
    }
  }
}

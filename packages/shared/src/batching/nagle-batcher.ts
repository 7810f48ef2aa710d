import type { CallCancellation } from './call-cancellation.js';

/** One submitted item as its batch runs it. Settle it once; later settles are ignored. */
export interface BatchMember<T, R> {
  readonly item: T;
  /** Its share of the batch bound (rows). */
  readonly weight: number;
  /** When it was submitted, on the batcher's clock (its queue delay is the time of dispatch minus this). */
  readonly queuedAt: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/** What a batcher is told about its items and how it runs a batch. */
export interface NagleBatcherOptions<T, R> {
  /** Largest total weight of one batch; an item of this weight or more runs alone, at once. */
  maxWeight: number;
  /** Milliseconds the first item of a waiting batch waits at most before the batch goes anyway. */
  maxDelayMs: number;
  /** Batches that may run at once before new items wait (read at every decision: it may change). */
  capacity: () => number;
  /**
   * When a batch ends: true, the oldest waiting batch takes its place at once (one of several
   * resources was freed, e.g. a pool's instance); false, waiting batches go only once fewer than
   * `capacity()` run (one resource that should be free first, e.g. a model).
   */
  handOffOnEnd: boolean;
  /** Whether items may share a batch at all now; false: each runs alone, at once. */
  batching: () => boolean;
  weightOf: (item: T) => number;
  /** Items share a batch only with items of the same key (the merge must be possible). */
  keyOf: (item: T) => string;
  /**
   * Runs one batch (merges, calls, splits) and settles its members; called synchronously at
   * dispatch, so what it observes first (queue delays) is measured then. If it throws or
   * rejects, every member it left unsettled gets that error, and no other batch's member does.
   */
  run: (members: BatchMember<T, R>[]) => Promise<void>;
  /** Monotonic milliseconds, for `queuedAt`. */
  now: () => number;
}

interface Member<T, R> extends BatchMember<T, R> {
  readonly cancellation: CallCancellation | undefined;
}

interface Waiting<T, R> {
  key: string;
  members: Member<T, R>[];
  weight: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Nagle's rule for calls: an item goes at once while fewer than `capacity()` batches run, so
 * light load waits for nothing; items arriving meanwhile wait by key, and the oldest waiting
 * batch goes when a running batch ends (see `handOffOnEnd`), when it holds `maxWeight`, or when
 * its first item has waited `maxDelayMs`. A batch never exceeds `maxWeight`: an item that would
 * overfill its batch sends that batch and starts the next. An item cancelled while waiting
 * leaves its batch, rejected with the cancellation's reason, and never runs.
 */
export class NagleBatcher<T, R> {
  private running = 0;
  /** In creation order: the first is the oldest. */
  private readonly waiting = new Map<string, Waiting<T, R>>();
  private idle: (() => void)[] = [];

  constructor(private readonly options: NagleBatcherOptions<T, R>) {}

  /** The result of `item`, run alone or in a batch with others of its key; rejected at once if already cancelled. */
  submit(item: T, cancellation?: CallCancellation): Promise<R> {
    if (cancellation?.cancelled) return Promise.reject(cancellation.reason);
    return new Promise<R>((resolve, reject) => {
      const weight = this.options.weightOf(item);
      const member: Member<T, R> = { item, weight, queuedAt: this.options.now(), resolve, reject, cancellation };
      const joinable = weight > 0 && weight < this.options.maxWeight && this.options.batching();
      if (!joinable || (this.running < this.options.capacity() && this.waiting.size === 0)) this.dispatch([member]);
      else this.enqueue(member);
    });
  }

  /** Sends every waiting batch now; resolves once no batch runs (what an owner that stops awaits). */
  drain(): Promise<void> {
    for (const batch of [...this.waiting.values()]) this.flush(batch);
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private enqueue(member: Member<T, R>): void {
    const key = this.options.keyOf(member.item);
    let batch = this.waiting.get(key);
    // A batch this item would overfill goes now; the item starts the next one.
    if (batch !== undefined && batch.weight + member.weight > this.options.maxWeight) {
      this.flush(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { key, members: [], weight: 0, timer: undefined };
      this.waiting.set(key, batch);
    }
    const joined = batch;
    joined.members.push(member);
    joined.weight += member.weight;
    member.cancellation?.onCancel(() => this.leave(joined, member));
    if (joined.weight >= this.options.maxWeight || this.running < this.options.capacity()) {
      this.flush(joined);
    } else if (joined.timer === undefined) {
      joined.timer = setTimeout(() => this.flush(joined), this.options.maxDelayMs);
      joined.timer.unref();
    }
  }

  private leave(batch: Waiting<T, R>, member: Member<T, R>): void {
    const index = batch.members.indexOf(member);
    if (index < 0) return;
    batch.members.splice(index, 1);
    batch.weight -= member.weight;
    if (batch.members.length === 0) {
      clearTimeout(batch.timer);
      if (this.waiting.get(batch.key) === batch) this.waiting.delete(batch.key);
    }
    member.reject(member.cancellation?.reason);
  }

  private flush(batch: Waiting<T, R>): void {
    clearTimeout(batch.timer);
    if (this.waiting.get(batch.key) === batch) this.waiting.delete(batch.key);
    const members = batch.members.splice(0);
    if (members.length === 0) return;
    // Batching stopped while these waited: each runs alone.
    if (this.options.batching()) this.dispatch(members);
    else for (const member of members) this.dispatch([member]);
  }

  private dispatch(members: Member<T, R>[]): void {
    for (const member of members) member.cancellation?.onCancel(undefined);
    this.running += 1;
    let ran: Promise<void>;
    try {
      ran = this.options.run(members);
    } catch (error) {
      ran = Promise.reject(error);
    }
    void ran
      // Settled members ignore this: it reaches only those the run left waiting.
      .catch((error: unknown) => members.forEach((member) => member.reject(error)))
      .finally(() => this.ended());
  }

  private ended(): void {
    this.running -= 1;
    if (this.options.handOffOnEnd || this.running < this.options.capacity()) {
      const oldest = this.waiting.values().next();
      if (oldest.done !== true) this.flush(oldest.value);
    }
    if (this.running === 0 && this.waiting.size === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }
}

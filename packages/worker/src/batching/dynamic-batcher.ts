import { splitTensorRows, type Logger, type Tensor } from '@infermesh/shared';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { batchKey, concatRows, hasBatchDimension, rowCount } from './batch-rows.js';
import type { CallCancellation } from './call-cancellation.js';

/** Rows one runtime call carries at most, by default; 1 turns batching off. */
export const DEFAULT_MAX_BATCH_SIZE = 64;
/** Milliseconds a queued call waits at most for the batch running before it, by default. */
export const DEFAULT_MAX_QUEUE_DELAY_MS = 2;
/** Largest --max-batch-size accepted, rows (the gateway's bound on `batching.maxRows`). */
export const MAX_BATCH_SIZE_LIMIT = 4096;
/** Largest --max-queue-delay-ms accepted, milliseconds: a queue timer must stay far below setTimeout's 2^31 ms. */
export const MAX_QUEUE_DELAY_LIMIT_MS = 60_000;

/** One ModelInfer call's share of a runtime call. */
export interface BatchRequest {
  inputs: ReadonlyMap<string, Tensor>;
  outputNames: readonly string[];
  /** Cancelled when the caller gives up (cancelled, deadline passed): a queued call then leaves the queue, rejected with the reason. */
  cancellation?: CallCancellation;
}

/** What a batcher needs. */
export interface DynamicBatcherOptions {
  /** Rows one runtime call may carry; a single call with more runs alone; 1 disables batching. */
  maxBatchSize: number;
  /** Milliseconds a queued call waits for the running batch before it runs anyway. */
  maxQueueDelayMs: number;
  metrics: Pick<WorkerMetrics, 'batchRows' | 'batchRequests' | 'batchQueueDelay' | 'batchFallbacks'>;
  logger: Logger;
  /** Monotonic milliseconds (performance.now), for queue delays. */
  now: () => number;
}

interface Pending {
  request: BatchRequest;
  rows: number;
  queuedAt: number;
  resolve: (outputs: Tensor[]) => void;
  reject: (error: unknown) => void;
}

/** Queued calls that can share one runtime call. */
interface Group {
  key: string;
  members: Pending[];
  rows: number;
  timer?: NodeJS.Timeout;
}

/** Batching state of one loaded model version: batches never cross versions. */
interface ModelState {
  model: LoadedModel;
  batchable: boolean;
  running: number;
  /** In creation order: the first is the oldest. */
  groups: Map<string, Group>;
}

/**
 * Coalesces concurrent ModelInfer calls for the same loaded model into one runtime call, by
 * Nagle's rule: a call runs at once when no runtime call is running for its model, so light
 * load waits for nothing; calls arriving meanwhile queue, and when the running call ends the
 * oldest queue runs as one batch (rows concatenated along the first dimension, outputs split
 * back by row counts). A queue runs earlier when it holds `maxBatchSize` rows or its first call
 * has waited `maxQueueDelayMs`. Only calls with the same inputs (names, datatypes, non-batch
 * dimensions) and the same requested outputs share a queue; the response form (raw or typed) is
 * chosen per call afterwards, so it may differ within a batch. Models whose inputs or outputs
 * have a fixed first dimension are never batched. A batch that fails is retried one call at a
 * time, so a request the model refuses fails alone, not its neighbours.
 */
export class DynamicBatcher {
  /** Weak: a retired model's state goes with it. */
  private readonly states = new WeakMap<LoadedModel, ModelState>();
  private readonly logger: Logger;

  constructor(private readonly options: DynamicBatcherOptions) {
    this.logger = options.logger;
  }

  /** The outputs of `request` computed by `model`, alone or in a batch with other calls to the same model. */
  infer(model: LoadedModel, request: BatchRequest): Promise<Tensor[]> {
    const { cancellation } = request;
    if (cancellation?.cancelled) return Promise.reject(cancellation.reason);
    return new Promise<Tensor[]>((resolve, reject) => {
      const state = this.stateFor(model);
      const rows = rowCount(request.inputs);
      const pending: Pending = { request, rows, queuedAt: this.options.now(), resolve, reject };
      const joinable = state.batchable && rows > 0 && rows < this.options.maxBatchSize;
      if (!joinable || (state.running === 0 && state.groups.size === 0)) this.dispatch(state, [pending]);
      else this.enqueue(state, pending);
    });
  }

  private stateFor(model: LoadedModel): ModelState {
    let state = this.states.get(model);
    if (state === undefined) {
      state = { model, batchable: this.options.maxBatchSize > 1 && hasBatchDimension(model.runtime), running: 0, groups: new Map() };
      this.states.set(model, state);
    }
    return state;
  }

  private enqueue(state: ModelState, pending: Pending): void {
    const key = batchKey(pending.request.inputs, pending.request.outputNames);
    let group = state.groups.get(key);
    // A queue that this call would overfill goes now; the call starts the next one.
    if (group !== undefined && group.rows + pending.rows > this.options.maxBatchSize) {
      this.flush(state, group);
      group = undefined;
    }
    if (group === undefined) {
      const created: Group = { key, members: [], rows: 0 };
      created.timer = setTimeout(() => this.flush(state, created), this.options.maxQueueDelayMs);
      created.timer.unref();
      state.groups.set(key, created);
      group = created;
    }
    const joined = group;
    joined.members.push(pending);
    joined.rows += pending.rows;
    pending.request.cancellation?.onCancel(() => this.leave(state, joined, pending));
    if (joined.rows >= this.options.maxBatchSize) this.flush(state, joined);
  }

  /** A cancelled call leaves its queue; it never reaches the model. */
  private leave(state: ModelState, group: Group, pending: Pending): void {
    const index = group.members.indexOf(pending);
    if (index < 0) return;
    group.members.splice(index, 1);
    group.rows -= pending.rows;
    if (group.members.length === 0) {
      clearTimeout(group.timer);
      if (state.groups.get(group.key) === group) state.groups.delete(group.key);
    }
    pending.reject(pending.request.cancellation?.reason);
  }

  private flush(state: ModelState, group: Group): void {
    clearTimeout(group.timer);
    if (state.groups.get(group.key) === group) state.groups.delete(group.key);
    if (group.members.length > 0) this.dispatch(state, group.members.splice(0));
  }

  private dispatch(state: ModelState, members: Pending[]): void {
    const now = this.options.now();
    const labels = { model: state.model.name };
    for (const member of members) {
      member.request.cancellation?.onCancel(undefined);
      this.options.metrics.batchQueueDelay.observe(labels, Math.max(0, now - member.queuedAt) / 1000);
    }
    state.running += 1;
    void this.run(state, members)
      // Settled members ignore this; it only guards against a bug leaving a caller waiting forever.
      .catch((error: unknown) => members.forEach((member) => member.reject(error)))
      .finally(() => {
        state.running -= 1;
        // The model is free: what queued meanwhile goes next, together.
        if (state.running === 0) {
          const oldest = state.groups.values().next();
          if (oldest.done !== true) this.flush(state, oldest.value);
        }
      });
  }

  /** One runtime call for `members`, settling each of them. */
  private async run(state: ModelState, members: Pending[]): Promise<void> {
    if (members.length === 1) return this.runAlone(state, members[0]!);
    if (!state.batchable) {
      // Queued before this version turned out not to answer per row: each runs alone.
      await Promise.all(members.map((member) => this.runAlone(state, member)));
      return;
    }
    const { runtime } = state.model;
    const rowCounts = members.map((member) => member.rows);
    this.observeCall(state, rowCounts);
    let outputs: Tensor[];
    try {
      outputs = await runtime.infer(
        concatRows(members.map((member) => member.request.inputs)),
        members[0]!.request.outputNames,
      );
    } catch (error) {
      // Which call the model refused is unknown: each is retried alone, so only that one fails.
      this.logger.debug({ err: error, model: state.model.name, version: state.model.version, requests: members.length }, 'batch failed; retrying its calls one by one');
      return this.oneByOne(state, members, 'batch_failed');
    }
    const split = splitTensorRows(outputs, rowCounts);
    if (split === undefined) {
      // Declared a batch dimension but answers otherwise: stop batching this version.
      state.batchable = false;
      this.logger.warn({ model: state.model.name, version: state.model.version }, 'the model does not return one output row per input row; its calls run one at a time');
      return this.oneByOne(state, members, 'outputs_not_per_row');
    }
    members.forEach((member, index) => member.resolve(split[index]!));
  }

  private async runAlone(state: ModelState, member: Pending): Promise<void> {
    this.observeCall(state, [member.rows]);
    try {
      member.resolve(await state.model.runtime.infer(member.request.inputs, member.request.outputNames));
    } catch (error) {
      member.reject(error);
    }
  }

  private async oneByOne(state: ModelState, members: readonly Pending[], reason: 'batch_failed' | 'outputs_not_per_row'): Promise<void> {
    this.options.metrics.batchFallbacks.inc({ model: state.model.name, reason });
    await Promise.all(
      members.map((member) => {
        const { cancellation } = member.request;
        // A call cancelled while its batch ran is not run again.
        if (cancellation?.cancelled) {
          member.reject(cancellation.reason);
          return undefined;
        }
        return this.runAlone(state, member);
      }),
    );
  }

  private observeCall(state: ModelState, rowCounts: readonly number[]): void {
    const labels = { model: state.model.name };
    this.options.metrics.batchRequests.observe(labels, rowCounts.length);
    this.options.metrics.batchRows.observe(labels, rowCounts.reduce((sum, rows) => sum + rows, 0));
  }
}

import { NagleBatcher, splitTensorRows, type BatchMember, type CallCancellation, type Logger, type Tensor } from '@infermesh/shared';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { batchKey, concatRows, hasBatchDimension, rowCount } from './batch-rows.js';

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

/** One call as its batch runs it. */
type Member = BatchMember<BatchRequest, Tensor[]>;

/** Batching state of one loaded model version: batches never cross versions. */
interface ModelState {
  model: LoadedModel;
  batchable: boolean;
  batcher: NagleBatcher<BatchRequest, Tensor[]>;
}

/**
 * Coalesces concurrent ModelInfer calls for the same loaded model into one runtime call, by
 * Nagle's rule (the shared {@link NagleBatcher}, one per loaded model): a call runs at once when no runtime call is running for its model, so light
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
    return this.stateFor(model).batcher.submit(request, request.cancellation);
  }

  private stateFor(model: LoadedModel): ModelState {
    let state = this.states.get(model);
    if (state === undefined) {
      const { maxBatchSize, maxQueueDelayMs, metrics, now } = this.options;
      const created: ModelState = {
        model,
        batchable: maxBatchSize > 1 && hasBatchDimension(model.runtime),
        batcher: new NagleBatcher<BatchRequest, Tensor[]>({
          maxWeight: maxBatchSize,
          maxDelayMs: maxQueueDelayMs,
          // One model: what queued goes once it is idle.
          capacity: () => 1,
          handOffOnEnd: false,
          batching: () => created.batchable,
          weightOf: (request) => rowCount(request.inputs),
          keyOf: (request) => batchKey(request.inputs, request.outputNames),
          run: (members) => {
            const at = now();
            for (const member of members) metrics.batchQueueDelay.observe({ model: model.name }, Math.max(0, at - member.queuedAt) / 1000);
            return this.run(created, members);
          },
          now,
        }),
      };
      state = created;
      this.states.set(model, state);
    }
    return state;
  }

  /** One runtime call for `members`, settling each of them. */
  private async run(state: ModelState, members: Member[]): Promise<void> {
    if (members.length === 1) return this.runAlone(state, members[0]!);
    const { runtime } = state.model;
    const rowCounts = members.map((member) => member.weight);
    this.observeCall(state, rowCounts);
    let outputs: Tensor[];
    try {
      outputs = await runtime.infer(
        concatRows(members.map((member) => member.item.inputs)),
        members[0]!.item.outputNames,
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

  private async runAlone(state: ModelState, member: Member): Promise<void> {
    this.observeCall(state, [member.weight]);
    try {
      member.resolve(await state.model.runtime.infer(member.item.inputs, member.item.outputNames));
    } catch (error) {
      member.reject(error);
    }
  }

  private async oneByOne(state: ModelState, members: readonly Member[], reason: 'batch_failed' | 'outputs_not_per_row'): Promise<void> {
    this.options.metrics.batchFallbacks.inc({ model: state.model.name, reason });
    await Promise.all(
      members.map((member) => {
        const { cancellation } = member.item;
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

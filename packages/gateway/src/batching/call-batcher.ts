import { concatTensorRows, decodeInferOutputs, encodeInferInputs, InfermeshError, NagleBatcher, type BatchMember, type ModelInferRequest, type Tensor } from '@infermesh/shared';
import type { PoolCallResult } from '../pools/worker-pool.js';
import type { WorkerEndpoint } from '../pools/worker-endpoint.js';
import type { BatchMetrics } from './batch-metrics.js';
import { batchKey, rowsOf, splitRows } from './tensor-rows.js';

/** Rows one worker call may carry by default. */
export const DEFAULT_MAX_BATCH_ROWS = 64;
/** Milliseconds a prediction may wait for a call to carry it by default. */
export const DEFAULT_MAX_BATCH_DELAY_MS = 2;
/** Worker errors after which a batch is re-sent one prediction per call: one request's values may be what the model refused. */
const PER_REQUEST_ERRORS: ReadonlySet<string> = new Set(['INVALID_TENSOR', 'INVALID_ARGUMENT', 'INFERENCE_FAILED']);

/** One prediction's call. */
export interface BatchCall {
  tensors: Tensor[];
  outputs: string[];
  deadline: Date;
  requestId: string;
}

/** One prediction's answer. */
export interface BatchAnswer {
  outputs: Tensor[];
  modelVersion: string;
  instance: WorkerEndpoint;
}

/** What a batcher needs. */
export interface CallBatcherOptions {
  /** Model name on the workers. */
  workerModel: string;
  /** Label of the metrics. */
  model: string;
  maxBatchRows: number;
  maxDelayMs: number;
  /** How many calls may be in flight before predictions start to wait (the pool's healthy instances). */
  slots: () => number;
  /** One ModelInfer through the pool. */
  call: (request: ModelInferRequest, options: { deadline: Date; requestId: string }) => Promise<PoolCallResult>;
  metrics: BatchMetrics;
  /** Monotonic milliseconds, for the queue delay. */
  elapsed: () => number;
}

/** One prediction as its call runs it. */
type Member = BatchMember<BatchCall, BatchAnswer>;

/**
 * Nagle's rule between the gateway and the workers of one variant: a prediction is sent at once
 * while a worker is free; predictions that arrive while every instance has a call in flight wait,
 * and the next call carries them all as one batch tensor (up to maxBatchRows rows, never longer
 * than maxDelayMs), its answer split back per prediction. At light load nothing waits; under load
 * the per-call cost (gRPC, the model's fixed cost) is paid once per batch instead of once per
 * request. Only predictions whose tensors agree on all but the row count share a call. The
 * queueing is the shared {@link NagleBatcher}'s; this class merges, calls and splits.
 */
export class CallBatcher {
  private readonly batcher: NagleBatcher<BatchCall, BatchAnswer>;
  /** Set once the workers refused a batch: their model has no batch dimension, so every call carries one prediction. */
  private unbatchable = false;

  constructor(private readonly options: CallBatcherOptions) {
    this.batcher = new NagleBatcher<BatchCall, BatchAnswer>({
      maxWeight: options.maxBatchRows,
      maxDelayMs: options.maxDelayMs,
      capacity: () => Math.max(1, options.slots()),
      // A worker is free: the predictions that queued meanwhile go next, together.
      handOffOnEnd: true,
      batching: () => !this.unbatchable,
      weightOf: (call) => rowsOf(call.tensors),
      keyOf: (call) => batchKey(call.tensors, call.outputs),
      run: (members) => this.send(members),
      now: options.elapsed,
    });
  }

  /** The answer to one prediction's call, batched with others when the workers are busy. */
  infer(call: BatchCall): Promise<BatchAnswer> {
    return this.batcher.submit(call);
  }

  private async send(members: Member[]): Promise<void> {
    const { metrics, model, elapsed } = this.options;
    const now = elapsed();
    for (const member of members) metrics.queueDelay.observe({ model }, Math.max(0, now - member.queuedAt) / 1000);
    metrics.requestsPerCall.observe({ model }, members.length);
    await this.callFor(members);
  }

  /** One call for `members`; true when every one of them got its answer. */
  private async callFor(members: Member[]): Promise<boolean> {
    const { workerModel, call } = this.options;
    const first = members[0]!.item;
    const tensors = members.length === 1 ? first.tensors : concatTensorRows(members.map((member) => member.item.tensors));
    // Predictions of one model share its deadline budget; the oldest member's is the earliest.
    const deadline = new Date(Math.min(...members.map((member) => member.item.deadline.getTime())));
    let result: PoolCallResult;
    try {
      result = await call({ modelName: workerModel, id: first.requestId, ...encodeInferInputs(tensors), outputs: first.outputs.map((name) => ({ name })) }, { deadline, requestId: first.requestId });
    } catch (error) {
      const code = InfermeshError.from(error).code;
      if (members.length > 1 && PER_REQUEST_ERRORS.has(code)) return this.oneByOne(members, 'worker_refused_batch');
      for (const member of members) member.reject(error);
      return false;
    }
    let outputs: Tensor[][];
    try {
      const decoded = decodeInferOutputs(result.response);
      outputs = members.length === 1 ? [decoded] : splitRows(decoded, members.map((member) => member.weight));
    } catch (error) {
      if (members.length > 1) return this.oneByOne(members, 'outputs_not_per_row');
      for (const member of members) member.reject(error);
      return false;
    }
    members.forEach((member, index) => member.resolve({ outputs: outputs[index]!, modelVersion: result.response.modelVersion, instance: result.instance }));
    return true;
  }

  /** Re-sends each member on its own (outside the queue), so one request cannot fail its neighbours. */
  private async oneByOne(members: Member[], reason: string): Promise<boolean> {
    this.options.metrics.fallbacks.inc({ model: this.options.model, reason });
    const answered = await Promise.all(members.map((member) => this.callFor([member])));
    // Outputs that are not per row never split, and a batch refused although each of its predictions
    // is fine alone means a model without a batch dimension: this variant stops batching. A batch
    // refused because of one bad prediction keeps batching.
    if (reason === 'outputs_not_per_row' || answered.every(Boolean)) this.unbatchable = true;
    return answered.every(Boolean);
  }
}

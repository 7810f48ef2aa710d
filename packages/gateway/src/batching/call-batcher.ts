import { concatTensorRows, decodeInferOutputs, encodeInferInputs, InfermeshError, type ModelInferRequest, type Tensor } from '@infermesh/shared';
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

interface Pending {
  call: BatchCall;
  rows: number;
  queuedAt: number;
  resolve: (answer: BatchAnswer) => void;
  reject: (error: unknown) => void;
}

interface Queue {
  members: Pending[];
  rows: number;
  timer?: NodeJS.Timeout;
}

/**
 * Nagle's rule between the gateway and the workers of one variant: a prediction is sent at once
 * while a worker is free; predictions that arrive while every instance has a call in flight wait,
 * and the next call carries them all as one batch tensor (up to maxBatchRows rows, never longer
 * than maxDelayMs), its answer split back per prediction. At light load nothing waits; under load
 * the per-call cost (gRPC, the model's fixed cost) is paid once per batch instead of once per
 * request. Only predictions whose tensors agree on all but the row count share a call.
 */
export class CallBatcher {
  private inFlight = 0;
  private readonly queues = new Map<string, Queue>();
  /** Set once the workers refused a batch: their model has no batch dimension, so every call carries one prediction. */
  private unbatchable = false;

  constructor(private readonly options: CallBatcherOptions) {}

  /** The answer to one prediction's call, batched with others when the workers are busy. */
  infer(call: BatchCall): Promise<BatchAnswer> {
    return new Promise<BatchAnswer>((resolve, reject) => {
      const pending: Pending = { call, rows: rowsOf(call.tensors), queuedAt: this.options.elapsed(), resolve, reject };
      if (this.inFlight < Math.max(1, this.options.slots()) && this.queues.size === 0) {
        this.send([pending]);
        return;
      }
      const key = batchKey(call.tensors, call.outputs);
      const queue = this.queues.get(key) ?? { members: [], rows: 0 };
      this.queues.set(key, queue);
      queue.members.push(pending);
      queue.rows += pending.rows;
      if (queue.rows >= this.options.maxBatchRows || this.inFlight < Math.max(1, this.options.slots()) || this.unbatchable) this.flush(key);
      else queue.timer ??= setTimeout(() => this.flush(key), this.options.maxDelayMs);
    });
  }

  /** Sends a waiting queue as one call (its oldest first when there are several). */
  private flush(key: string): void {
    const queue = this.queues.get(key);
    if (queue === undefined) return;
    clearTimeout(queue.timer);
    this.queues.delete(key);
    const members: Pending[] = [];
    let rows = 0;
    for (const member of queue.members) {
      // A batch full of rows goes now; the rest start the next one.
      if (members.length > 0 && (this.unbatchable || rows + member.rows > this.options.maxBatchRows)) {
        this.send(members.splice(0));
        rows = 0;
      }
      members.push(member);
      rows += member.rows;
    }
    if (members.length > 0) this.send(members);
  }

  private send(members: Pending[]): void {
    const { metrics, model, elapsed } = this.options;
    const now = elapsed();
    for (const member of members) metrics.queueDelay.observe({ model }, Math.max(0, now - member.queuedAt) / 1000);
    metrics.requestsPerCall.observe({ model }, members.length);
    this.inFlight += 1;
    void this.callFor(members).finally(() => {
      this.inFlight -= 1;
      // A worker is free: the predictions that queued meanwhile go next, together.
      const oldest = [...this.queues.entries()].sort(([, a], [, b]) => a.members[0]!.queuedAt - b.members[0]!.queuedAt)[0];
      if (oldest !== undefined) this.flush(oldest[0]);
    });
  }

  /** One call for `members`; true when every one of them got its answer. */
  private async callFor(members: Pending[]): Promise<boolean> {
    const { workerModel, call } = this.options;
    const first = members[0]!.call;
    const tensors = members.length === 1 ? first.tensors : concatTensorRows(members.map((member) => member.call.tensors));
    // Predictions of one model share its deadline budget; the oldest member's is the earliest.
    const deadline = new Date(Math.min(...members.map((member) => member.call.deadline.getTime())));
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
      outputs = members.length === 1 ? [decoded] : splitRows(decoded, members.map((member) => member.rows));
    } catch (error) {
      if (members.length > 1) return this.oneByOne(members, 'outputs_not_per_row');
      for (const member of members) member.reject(error);
      return false;
    }
    members.forEach((member, index) => member.resolve({ outputs: outputs[index]!, modelVersion: result.response.modelVersion, instance: result.instance }));
    return true;
  }

  /** Re-sends each member on its own (outside the queue), so one request cannot fail its neighbours. */
  private async oneByOne(members: Pending[], reason: string): Promise<boolean> {
    this.options.metrics.fallbacks.inc({ model: this.options.model, reason });
    const answered = await Promise.all(members.map((member) => this.callFor([member])));
    // Outputs that are not per row never split, and a batch refused although each of its predictions
    // is fine alone means a model without a batch dimension: this variant stops batching. A batch
    // refused because of one bad prediction keeps batching.
    if (reason === 'outputs_not_per_row' || answered.every(Boolean)) this.unbatchable = true;
    return answered.every(Boolean);
  }
}

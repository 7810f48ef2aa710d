import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { InfermeshError } from '../../errors/infermesh-error.js';
import type { ErrorCode } from '../../errors/error-codes.js';
import type { EventSink } from '../publisher/event-publisher.js';
import type { SinkThreadData } from './serve-sink-in-thread.js';
import type { SinkThreadFailure, SinkThreadReply, SinkThreadRequest } from './sink-thread-protocol.js';
import type { SpooledEvent } from '../contract/spooled-event.js';
import { startThread } from './start-thread.js';

/** Milliseconds stop() waits for the thread to stop its sink and end before it is terminated. */
export const THREAD_STOP_WAIT_MS = 5_000;

/** Options of a {@link ThreadedEventSink}. */
export interface ThreadedEventSinkOptions<Data extends SinkThreadData> {
  /** The thread's entry file, which calls serveSinkInThread. */
  entry: URL;
  /** Structured-cloneable options of the sink the entry builds. */
  data: Data;
  description: string;
  /** The thread's log lines are written by this logger, at their own level. */
  logger: Logger;
}

interface PendingSend {
  resolve(): void;
  reject(error: Error): void;
}

/** Attributes pino adds to every line, which the owner's logger adds again. */
const OWN_LINE_KEYS = new Set(['level', 'msg', 'time', 'pid', 'hostname']);

/**
 * An event sink that runs in a worker thread: send() hands the batch over and resolves when the
 * thread's sink has acknowledged it, so the spool sender keeps its guarantees while the sink's
 * CPU (encoding, the client library) is spent off the thread that answers requests. A thread
 * that dies fails the sends in flight (they are retried) and is started again by the next send.
 */
export class ThreadedEventSink<Data extends SinkThreadData> implements EventSink {
  readonly description: string;
  private worker: Worker | undefined;
  private started: Promise<Worker> | undefined;
  private readonly pending = new Map<number, PendingSend>();
  private nextId = 0;
  private stopping = false;

  constructor(private readonly options: ThreadedEventSinkOptions<Data>) {
    this.description = options.description;
  }

  /** Starts the thread; resolves once its sink has started (which never waits for the destination). */
  async start(): Promise<void> {
    await this.thread();
  }

  /** Resolves when the thread's sink has accepted every event; rejects as that sink would. */
  async send(events: readonly SpooledEvent[]): Promise<void> {
    const worker = await this.thread();
    const id = (this.nextId += 1);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Awaited work keeps the process alive; an idle thread does not.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ kind: 'send', id, events } satisfies SinkThreadRequest);
    });
  }

  /** Stops the thread's sink and ends the thread; sends still in flight are failed (their events stay spooled). */
  async stop(): Promise<void> {
    this.stopping = true;
    const worker = this.worker ?? (await this.started?.catch(() => undefined));
    this.started = undefined;
    this.worker = undefined;
    if (worker !== undefined) {
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ kind: 'stop' } satisfies SinkThreadRequest);
      const timer = setTimeout(() => void worker.terminate(), THREAD_STOP_WAIT_MS);
      await exited;
      clearTimeout(timer);
    }
    this.failPending(new InfermeshError('UPSTREAM_UNAVAILABLE', 'the event sink was stopped', { retriable: true }));
  }

  private thread(): Promise<Worker> {
    if (this.stopping) return Promise.reject(new InfermeshError('UPSTREAM_UNAVAILABLE', 'the event sink was stopped', { retriable: true }));
    this.started ??= this.spawn().catch((error: unknown) => {
      this.started = undefined;
      throw error;
    });
    return this.started;
  }

  private spawn(): Promise<Worker> {
    // Referenced until it has started and while sends are in flight: an idle thread must not keep the process alive.
    const worker = startThread(this.options.entry, this.options.data);
    return new Promise<Worker>((resolve, reject) => {
      worker.on('message', (reply: SinkThreadReply) => {
        if (reply.kind === 'started') {
          this.worker = worker;
          if (this.pending.size === 0) worker.unref();
          resolve(worker);
        } else {
          this.receive(reply);
        }
      });
      worker.on('error', (error) => {
        // An exception that escaped the sink: a bug, which a human should look at.
        this.options.logger.error({ err: error.message, module: 'threaded-event-sink' }, `the event sink thread (${this.description}) failed; starting a new one`);
      });
      worker.once('exit', (exitCode) => {
        const failure = new InfermeshError('UPSTREAM_UNAVAILABLE', `the event sink thread ended (exit code ${exitCode})`, { retriable: true });
        reject(failure);
        if (this.worker === worker) {
          this.worker = undefined;
          this.started = undefined;
        }
        if (!this.stopping) this.failPending(failure);
      });
    });
  }

  private receive(reply: SinkThreadReply): void {
    if (reply.kind === 'log') {
      this.relog(reply.line);
    } else if (reply.kind === 'sent' || reply.kind === 'failed') {
      const send = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker?.unref();
      if (reply.kind === 'sent') send?.resolve();
      else send?.reject(toError(reply.error));
    }
  }

  /** Writes a line of the thread's logger with the owner's logger, keeping its level, message and fields. */
  private relog(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = record.level;
    if (level !== 'fatal' && level !== 'error' && level !== 'warn' && level !== 'info' && level !== 'debug' && level !== 'trace') return;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) if (!OWN_LINE_KEYS.has(key)) fields[key] = value;
    this.options.logger[level](fields, typeof record.msg === 'string' ? record.msg : '');
  }

  private failPending(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const send of pending) send.reject(error);
  }
}

/** The error a failed send crossed the thread boundary as. */
function toError(failure: SinkThreadFailure): Error {
  if (failure.code === undefined) return Object.assign(new Error(failure.message), failure.retriable === undefined ? {} : { retriable: failure.retriable });
  return new InfermeshError(failure.code as ErrorCode, failure.message, failure.retriable === undefined ? {} : { retriable: failure.retriable });
}

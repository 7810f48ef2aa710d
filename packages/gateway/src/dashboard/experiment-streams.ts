import { InfermeshError, type Logger } from '@infermesh/shared';

/** Where a stream's events go: the open end of an HTTP answer (http/gateway-route.ts's AnswerStream). */
export interface EventSink {
  write(chunk: string): void;
  end(): void;
  onClose(listener: () => void): void;
}

/** What a stream sends: the experiment as `GET /v1/experiments/{model}` describes it (http/experiment-routes.ts). */
export type StreamedExperiment = object & { record: { ageMs: number; ageSeconds: number } | null };

/** Milliseconds between heartbeat comments on an open stream (proxies close silent connections). */
export const STREAM_HEARTBEAT_MS = 15_000;
/** Milliseconds an event waits for further changes of the same model, so a burst sends one event. */
export const STREAM_COALESCE_MS = 100;
/** Milliseconds an EventSource waits before reconnecting (the stream's `retry:` field). */
export const STREAM_RETRY_MS = 1_000;
/** Open streams one gateway holds at most; more are refused with 503 (each holds a connection). */
export const MAX_STREAM_CLIENTS = 1_000;

/** What the streams need. */
export interface ExperimentStreamsDependencies {
  /** The model's experiment as `GET /v1/experiments/{model}` describes it; throws when it has none. */
  describe(model: string): StreamedExperiment;
  logger: Logger;
  heartbeatMs?: number;
  coalesceMs?: number;
  maxClients?: number;
}

interface StreamClient {
  readonly model: string;
  readonly stream: EventSink;
}

/** One Server-Sent Event: its name and a one-line JSON payload. */
function serverSentEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** What a description says, its age left out: a heartbeat resends a description only when this moved. */
function contentOf(description: StreamedExperiment): string {
  return JSON.stringify({ ...description, record: description.record === null ? null : { ...description.record, ageMs: 0, ageSeconds: 0 } });
}

/**
 * The open `GET /v1/experiments/{model}/stream` answers of this gateway: each gets an
 * `experiment` event at once and again whenever the record or the experiment config it
 * describes changes (callers report changes: {@link changed}, {@link changedAll}); changes in
 * a burst are coalesced into one event per model. One timer for all clients sends heartbeats
 * and resends a description whose content moved without a notification (worker health).
 */
export class ExperimentStreams {
  private readonly clients = new Set<StreamClient>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly lastSent = new Map<string, string>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly dependencies: ExperimentStreamsDependencies) {}

  /** Checks a new client may open a stream on `model` (its experiment exists, a place is free); throws the client error otherwise. */
  admit(model: string): void {
    if (this.stopped) throw new InfermeshError('SHUTTING_DOWN', 'the gateway is stopping');
    if (this.clients.size >= (this.dependencies.maxClients ?? MAX_STREAM_CLIENTS)) {
      throw new InfermeshError('UPSTREAM_UNAVAILABLE', 'too many open experiment streams on this gateway; retry later', { retriable: true });
    }
    this.dependencies.describe(model);
  }

  /** Serves one client: the reconnect delay, the current description, then every change until it leaves. */
  open(model: string, stream: EventSink): void {
    if (this.stopped) {
      stream.end();
      return;
    }
    const client = { model, stream };
    this.clients.add(client);
    stream.onClose(() => this.clients.delete(client));
    stream.write(`retry: ${STREAM_RETRY_MS}\n\n`);
    this.sendTo([client], model);
    this.heartbeat ??= setInterval(() => this.beat(), this.dependencies.heartbeatMs ?? STREAM_HEARTBEAT_MS).unref();
  }

  /** The record or experiment of `model` changed: its clients get an event shortly. */
  changed(model: string): void {
    if (this.stopped || this.pending.has(model) || !this.hasClients(model)) return;
    const timer = setTimeout(() => {
      this.pending.delete(model);
      this.sendTo(this.clientsOf(model), model);
    }, this.dependencies.coalesceMs ?? STREAM_COALESCE_MS);
    this.pending.set(model, timer.unref());
  }

  /** Any experiment may have changed (the catalog applied new configs). */
  changedAll(): void {
    for (const model of new Set([...this.clients].map((client) => client.model))) this.changed(model);
  }

  /** Clients connected now. */
  size(): number {
    return this.clients.size;
  }

  /** Ends every stream and refuses new ones: a stopping gateway must not wait for its listeners. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    for (const client of [...this.clients]) client.stream.end();
    this.clients.clear();
  }

  private beat(): void {
    for (const client of this.clients) client.stream.write(': heartbeat\n\n');
    for (const model of new Set([...this.clients].map((client) => client.model))) {
      const description = this.describe(model);
      if (description !== undefined && contentOf(description) !== this.lastSent.get(model)) this.sendTo(this.clientsOf(model), model, description);
    }
    if (this.clients.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
      this.lastSent.clear();
    }
  }

  private sendTo(clients: readonly StreamClient[], model: string, description = this.describe(model)): void {
    if (clients.length === 0) return;
    const event = description === undefined ? serverSentEvent('gone', { model }) : serverSentEvent('experiment', description);
    if (description !== undefined) this.lastSent.set(model, contentOf(description));
    for (const client of clients) client.stream.write(event);
  }

  /** The description, or undefined once the model lost its experiment (clients get a `gone` event and may stay). */
  private describe(model: string): StreamedExperiment | undefined {
    try {
      return this.dependencies.describe(model);
    } catch (error) {
      const typed = InfermeshError.from(error);
      if (typed.code !== 'MODEL_NOT_FOUND') this.dependencies.logger.error({ model, err: error }, 'cannot describe the experiment for its stream');
      return undefined;
    }
  }

  private hasClients(model: string): boolean {
    for (const client of this.clients) if (client.model === model) return true;
    return false;
  }

  private clientsOf(model: string): StreamClient[] {
    return [...this.clients].filter((client) => client.model === model);
  }
}

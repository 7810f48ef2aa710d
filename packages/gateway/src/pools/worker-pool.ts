import { InfermeshError, REQUEST_ID_HEADER, type Logger, type ModelInferResponse__Output, type ModelMetadataResponse__Output } from '@infermesh/shared';
import { classifyWorkerFailure, type FailureDecision } from './classify-worker-failure.js';
import type { EndpointSource } from './endpoint-source.js';
import { createGrpcWorkerClient } from './grpc-worker-client.js';
import { InstanceHealth } from './instance-health.js';
import type { PoolMetrics } from './pool-metrics.js';
import { powerOfTwoChoices } from './power-of-two-choices.js';
import type { ModelInferRequest, WorkerClient, WorkerClientFactory } from './worker-client.js';
import type { WorkerEndpoint } from './worker-endpoint.js';

/** Consecutive transport/availability failures that eject an instance, by default. */
export const DEFAULT_EJECT_AFTER_FAILURES = 3;
/** Milliseconds an ejected instance stays out of rotation before it is probed, by default. */
export const DEFAULT_EJECTION_MS = 5_000;
/** Milliseconds a grpc.health.v1 probe may take, by default. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;
/** Milliseconds between checks for ejected instances due for a probe (also checked on every call). */
export const PROBE_SWEEP_INTERVAL_MS = 250;
/** Milliseconds a ModelMetadata call may take. */
export const METADATA_TIMEOUT_MS = 5_000;
/** Attempts per call: the first, and one retry on another instance. */
export const MAX_ATTEMPTS = 2;

/** How a pool ejects and probes instances. */
export interface PoolOptions {
  /** Consecutive failures that eject an instance (default 3). */
  ejectAfterFailures: number;
  /** Milliseconds out of rotation before a probe (default 5 000). */
  ejectionMs: number;
  /** Milliseconds a probe may take (default 1 000). */
  probeTimeoutMs?: number;
}

/** What a pool is built from besides its name and source. */
export interface WorkerPoolDependencies {
  metrics: PoolMetrics;
  logger: Logger;
  /** Uniform in [0, 1): the power-of-two-choices draw. */
  random: () => number;
  /** Wall-clock milliseconds (Date.now in production): deadlines, ejection periods and probe deadlines. */
  now: () => number;
  /** Monotonic milliseconds for call durations (performance.now unless given): sub-millisecond and immune to clock steps. */
  elapsed?: () => number;
  /** Makes the client of one address; gRPC by default. */
  createClient?: WorkerClientFactory;
}

/** A successful ModelInfer through the pool. */
export interface PoolCallResult {
  response: ModelInferResponse__Output;
  /** The instance that answered. */
  instance: WorkerEndpoint;
  /** 1, or 2 when the first attempt was retried on another instance. */
  attempts: number;
}

/** One instance in the pool: its endpoint, its client (one channel per address) and its state. */
interface PoolMember {
  endpoint: WorkerEndpoint;
  readonly client: WorkerClient;
  readonly health: InstanceHealth;
  inflight: number;
  /** Left the pool; its client closes once its last call ends. */
  leaving: boolean;
  /** The model version its last answer named (static pools have no catalog meta to say it). */
  answeredVersion?: string;
}

/**
 * The worker instances serving one model deployment. Calls go to the less loaded of two
 * random healthy instances; an instance failing `ejectAfterFailures` times in a row leaves
 * rotation and is probed back with grpc.health.v1 after `ejectionMs`. A call that provably did
 * not reach the model is retried once on another instance within the same deadline.
 */
export class WorkerPool {
  private readonly members = new Map<string, PoolMember>();
  private readonly logger: Logger;
  private readonly options: Required<PoolOptions>;
  private readonly createClient: WorkerClientFactory;
  private sweepTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly source: EndpointSource,
    private readonly dependencies: WorkerPoolDependencies,
    options: Partial<PoolOptions> = {},
  ) {
    this.options = {
      ejectAfterFailures: options.ejectAfterFailures ?? DEFAULT_EJECT_AFTER_FAILURES,
      ejectionMs: options.ejectionMs ?? DEFAULT_EJECTION_MS,
      probeTimeoutMs: options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
    };
    this.createClient = dependencies.createClient ?? createGrpcWorkerClient;
    this.logger = dependencies.logger;
  }

  /** Follows the source's instances (starting the source) and begins probing ejected ones. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.source.onChange((endpoints) => this.sync(endpoints));
    this.source.start();
    this.sync(this.source.endpoints());
    this.sweepTimer = setInterval(() => this.probeDueInstances(), PROBE_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** ModelInfer on a picked instance with the deadline; on a retriable failure, once more on another instance. */
  async infer(request: ModelInferRequest, options: { deadline: Date; requestId: string }): Promise<PoolCallResult> {
    const metadata = { [REQUEST_ID_HEADER]: options.requestId };
    const { value, member, attempts } = await this.withRetry(
      'ModelInfer',
      options.deadline,
      (client) => client.modelInfer(request, { deadline: options.deadline, metadata }),
      (decision) => decision.retryOnAnotherInstance,
    );
    if (value.modelVersion) member.answeredVersion = value.modelVersion;
    return { response: value, instance: member.endpoint, attempts };
  }

  /** ModelMetadata from any healthy instance (the gateway caches it). */
  async metadata(model: string): Promise<ModelMetadataResponse__Output> {
    const deadline = new Date(this.dependencies.now() + METADATA_TIMEOUT_MS);
    // Metadata is a read: any availability failure may be retried, not only one that provably did not arrive.
    const retry = (decision: FailureDecision) => decision.retryOnAnotherInstance || decision.countsTowardEjection;
    return (await this.withRetry('ModelMetadata', deadline, (client) => client.modelMetadata(model, { deadline, metadata: {} }), retry)).value;
  }

  /** Instances in rotation now. */
  healthyCount(): number {
    let healthy = 0;
    for (const member of this.members.values()) if (!member.health.ejected) healthy += 1;
    return healthy;
  }

  /** The model versions the instances in rotation serve, sorted: from their catalog meta, else from their last answer (empty before one). */
  versions(): string[] {
    const versions = new Set<string>();
    for (const member of this.members.values()) {
      const version = member.endpoint.meta.version ?? member.answeredVersion;
      if (!member.health.ejected && version !== undefined) versions.add(version);
    }
    return [...versions].sort();
  }

  /** Instances known, ejected ones included. */
  size(): number {
    return this.members.size;
  }

  /** Stops the source and the probes and closes every channel (calls still running are cancelled). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.source.stop();
    for (const member of this.members.values()) member.client.close();
    this.members.clear();
    // Pools are shared by name until nobody uses them, so a closed pool's series are nobody's.
    this.dependencies.metrics.forgetPool(this.name);
  }

  private async withRetry<T>(
    method: string,
    deadline: Date,
    call: (client: WorkerClient) => Promise<T>,
    mayRetry: (decision: FailureDecision) => boolean,
  ): Promise<{ value: T; member: PoolMember; attempts: number }> {
    this.probeDueInstances();
    const tried = new Set<PoolMember>();
    let last: FailureDecision | undefined;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const member = this.pick(tried);
      if (member === undefined) {
        if (last !== undefined) throw last.error;
        throw new InfermeshError('NO_HEALTHY_WORKER', `no healthy worker in pool '${this.name}' (${this.members.size} known, all ejected or none listed)`, {
          details: { pool: this.name, instances: this.members.size },
          retriable: true,
        });
      }
      tried.add(member);
      if (attempt > 1) this.dependencies.metrics.retries.inc({ pool: this.name });
      const outcome = await this.callOn(member, call);
      if (outcome.ok) return { value: outcome.value, member, attempts: attempt };
      const decision = outcome.decision;
      if (!mayRetry(decision) || this.dependencies.now() >= deadline.getTime()) throw decision.error;
      this.logger.debug({ method, instance: member.endpoint.id, reason: decision.error.message, attempt }, 'call failed before reaching the model; retrying on another instance');
      last = decision;
    }
    throw last!.error;
  }

  /** One call on one instance, with in-flight accounting, metrics and the ejection decision. */
  private async callOn<T>(member: PoolMember, call: (client: WorkerClient) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; decision: FailureDecision }> {
    const { metrics, now } = this.dependencies;
    const elapsed = this.dependencies.elapsed ?? performance.now.bind(performance);
    const started = elapsed();
    member.inflight += 1;
    try {
      const value = await call(member.client);
      metrics.observeCall(this.name, member.endpoint.id, 'OK', (elapsed() - started) / 1000);
      member.health.recordSuccess();
      return { ok: true, value };
    } catch (failure) {
      const decision = classifyWorkerFailure(failure);
      metrics.observeCall(this.name, member.endpoint.id, decision.statusName, (elapsed() - started) / 1000);
      if (decision.instanceAnswered) member.health.recordSuccess();
      else if (decision.countsTowardEjection && this.members.get(member.endpoint.address) === member && member.health.recordFailure(now())) {
        this.onEjected(member, decision);
      }
      return { ok: false, decision };
    } finally {
      member.inflight -= 1;
      if (member.leaving && member.inflight === 0) member.client.close();
    }
  }

  private pick(exclude: ReadonlySet<PoolMember>): PoolMember | undefined {
    const candidates: PoolMember[] = [];
    for (const member of this.members.values()) if (!member.health.ejected && !exclude.has(member)) candidates.push(member);
    return powerOfTwoChoices(candidates, (member) => member.inflight, this.dependencies.random);
  }

  private onEjected(member: PoolMember, decision: FailureDecision): void {
    this.dependencies.metrics.ejections.inc({ pool: this.name, instance: member.endpoint.id });
    this.updateInstanceGauge();
    this.logger.warn(
      { instance: member.endpoint.id, address: member.endpoint.address, failures: member.health.failures, ejectionMs: this.options.ejectionMs, reason: decision.error.message },
      'instance ejected after consecutive failures; probing it after the ejection period',
    );
  }

  private probeDueInstances(): void {
    if (this.closed) return;
    const now = this.dependencies.now();
    for (const member of this.members.values()) if (member.health.beginProbeIfDue(now)) void this.probe(member);
  }

  private async probe(member: PoolMember): Promise<void> {
    const { now } = this.dependencies;
    let passed = false;
    let reason: string | undefined;
    try {
      passed = await member.client.check(new Date(now() + this.options.probeTimeoutMs));
      if (!passed) reason = 'not SERVING';
    } catch (error) {
      reason = (error as Error).message;
    }
    member.health.endProbe(passed, now());
    if (this.members.get(member.endpoint.address) !== member) return;
    if (passed) {
      this.updateInstanceGauge();
      this.logger.info({ instance: member.endpoint.id, address: member.endpoint.address }, 'probe passed; instance back in rotation');
    } else {
      this.logger.debug({ instance: member.endpoint.id, reason, retryInMs: this.options.ejectionMs }, 'probe failed; instance stays ejected');
    }
  }

  /** Applies a new instance list: new addresses get a client, departed ones close theirs once drained. */
  private sync(endpoints: readonly WorkerEndpoint[]): void {
    if (this.closed) return;
    const next = new Map<string, WorkerEndpoint>();
    for (const endpoint of endpoints) if (!next.has(endpoint.address)) next.set(endpoint.address, endpoint);
    for (const [address, member] of this.members) {
      if (next.has(address)) continue;
      this.members.delete(address);
      this.dependencies.metrics.forgetInstance(this.name, member.endpoint.id);
      member.leaving = true;
      if (member.inflight === 0) member.client.close();
      this.logger.info({ instance: member.endpoint.id, address, inflight: member.inflight }, 'instance left the pool');
    }
    for (const [address, endpoint] of next) {
      const member = this.members.get(address);
      if (member !== undefined) {
        if (member.endpoint.id !== endpoint.id) this.dependencies.metrics.forgetInstance(this.name, member.endpoint.id);
        // Same address, maybe new meta (a hot-reloaded version): keep the channel and the state.
        member.endpoint = endpoint;
        continue;
      }
      this.members.set(address, {
        endpoint,
        client: this.createClient(address),
        health: new InstanceHealth(this.options),
        inflight: 0,
        leaving: false,
      });
      this.logger.info({ instance: endpoint.id, address, meta: endpoint.meta }, 'instance joined the pool');
    }
    this.updateInstanceGauge();
  }

  private updateInstanceGauge(): void {
    const healthy = this.healthyCount();
    this.dependencies.metrics.setInstances(this.name, healthy, this.members.size - healthy);
  }
}

import type Consul from 'consul';
import type { Logger } from '@infermesh/shared';

/** Consul service name every worker registers under; the gateway discovers this name. */
export const WORKER_SERVICE_NAME = 'infermesh-worker';
/** How often Consul calls the worker's grpc.health.v1 check. */
export const CHECK_INTERVAL = '2s';
/** Consul removes an instance whose check stays critical this long (a worker that died hard). */
export const DEREGISTER_CRITICAL_AFTER = '1m';
/** Milliseconds between attempts while Consul does not accept the registration. */
export const REGISTER_RETRY_MS = 2_000;

/** Identity of one worker instance in the catalog. */
export interface ServiceInstance {
  address: string;
  port: number;
  model: string;
  deployment: string;
}

/**
 * Registers the worker in the Consul catalog with a gRPC health check and keeps its
 * `version` meta current; retries while Consul is unreachable, deregisters on stop.
 */
export class ConsulServiceRegistration {
  readonly serviceId: string;
  private version: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly consul: Consul,
    private readonly instance: ServiceInstance,
    private readonly logger: Logger,
  ) {
    this.serviceId = `${WORKER_SERVICE_NAME}-${instance.model}-${instance.deployment}-${instance.address}-${instance.port}`;
  }

  /** Registers (or updates) the instance as serving `version`. */
  update(version: string): Promise<void> {
    this.version = version;
    this.pending = this.pending.then(() => this.attempt());
    return this.pending;
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.version === undefined) return;
    clearTimeout(this.retryTimer);
    const { address, port, model, deployment } = this.instance;
    try {
      await this.consul.agent.service.register({
        name: WORKER_SERVICE_NAME,
        id: this.serviceId,
        address,
        port,
        tags: [model, deployment],
        meta: { model, deployment, version: this.version },
        check: {
          name: 'grpc.health.v1',
          grpc: `${address}:${port}`,
          grpcusetls: false,
          interval: CHECK_INTERVAL,
          // Registration happens only once a version serves, so the instance starts passing
          // instead of waiting up to one interval for Consul's first check before it gets traffic.
          status: 'passing',
          deregistercriticalserviceafter: DEREGISTER_CRITICAL_AFTER,
        },
      } as never);
      this.logger.info({ serviceId: this.serviceId, version: this.version }, 'registered in the Consul catalog');
    } catch (error) {
      this.logger.warn({ serviceId: this.serviceId, reason: (error as Error).message, retryInMs: REGISTER_RETRY_MS }, 'Consul catalog registration failed; retrying');
      this.retryTimer = setTimeout(() => void this.update(this.version!), REGISTER_RETRY_MS);
      this.retryTimer.unref();
    }
  }

  /** Removes the instance from the catalog (best effort: Consul may be gone). */
  async deregister(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.pending;
    try {
      await this.consul.agent.service.deregister(this.serviceId);
      this.logger.info({ serviceId: this.serviceId }, 'deregistered from the Consul catalog');
    } catch (error) {
      this.logger.warn({ serviceId: this.serviceId, reason: (error as Error).message }, 'Consul deregistration failed; the check will expire it');
    }
  }
}

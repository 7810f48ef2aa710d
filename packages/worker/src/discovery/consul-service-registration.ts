import type Consul from 'consul';
import { InfermeshError, WORKER_SERVICE_NAME, type Logger } from '@infermesh/shared';

/** How often Consul calls the worker's grpc.health.v1 check. */
export const CHECK_INTERVAL = '2s';
/** Consul removes an instance whose check stays critical this long (a worker that died hard). */
export const DEREGISTER_CRITICAL_AFTER = '1m';
/** Milliseconds between attempts while Consul does not accept the registration. */
export const REGISTER_RETRY_MS = 2_000;
/** Milliseconds one register or deregister request to the local agent may take. */
export const AGENT_REQUEST_TIMEOUT_MS = 5_000;

/** Identity of one worker instance in the catalog. */
export interface ServiceInstance {
  address: string;
  port: number;
  model: string;
  deployment: string;
}

/**
 * Registers the worker in the Consul catalog with a gRPC health check and keeps its
 * `version` meta current; retries while Consul is unreachable, deregisters on stop. A
 * registration Consul refuses (a 4xx answer: ACL denied, invalid service definition) is not
 * retried: the same request would be refused again.
 */
export class ConsulServiceRegistration {
  readonly serviceId: string;
  private version: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private pending: Promise<void> = Promise.resolve();
  /** Consul may hold the registration: it accepted one, or a request got no answer. */
  private mayBeRegistered = false;

  constructor(
    private readonly consul: Consul,
    private readonly instance: ServiceInstance,
    private readonly logger: Logger,
  ) {
    this.serviceId = `${WORKER_SERVICE_NAME}-${instance.model}-${instance.deployment}-${instance.address}-${instance.port}`;
  }

  /**
   * Registers (or updates) the instance as serving `version`. Resolves once Consul accepted it
   * or, while Consul is unreachable, once a retry is scheduled; rejects with INVALID_CONFIG if
   * Consul refuses it.
   */
  update(version: string): Promise<void> {
    this.version = version;
    this.pending = this.pending.catch(() => undefined).then(() => this.attempt());
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
        timeout: AGENT_REQUEST_TIMEOUT_MS,
      } as never);
      this.mayBeRegistered = true;
      this.logger.info({ serviceId: this.serviceId, version: this.version }, 'registered in the Consul catalog');
    } catch (error) {
      const refusedWith = refusalStatus(error);
      if (refusedWith !== undefined) {
        throw new InfermeshError(
          'INVALID_CONFIG',
          `Consul refused to register ${this.serviceId} (${refusedWith}: ${(error as Error).message}); check --consul-token, --advertise-address and the model, deployment and version names`,
          { cause: error, details: { serviceId: this.serviceId, status: refusedWith } },
        );
      }
      this.mayBeRegistered = true;
      this.logger.warn({ serviceId: this.serviceId, reason: (error as Error).message, retryInMs: REGISTER_RETRY_MS }, 'Consul catalog registration failed; retrying');
      this.retryTimer = setTimeout(() => {
        this.update(this.version!).catch((refusal: unknown) =>
          this.logger.error({ err: refusal, serviceId: this.serviceId }, 'Consul refused the catalog registration; the worker serves but cannot be discovered'),
        );
      }, REGISTER_RETRY_MS);
      this.retryTimer.unref();
    }
  }

  /** Removes the instance from the catalog (best effort: Consul may be gone). */
  async deregister(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.pending.catch(() => undefined);
    if (!this.mayBeRegistered) return;
    try {
      await this.consul.agent.service.deregister({ id: this.serviceId, timeout: AGENT_REQUEST_TIMEOUT_MS } as never);
      this.logger.info({ serviceId: this.serviceId }, 'deregistered from the Consul catalog');
    } catch (error) {
      this.logger.warn({ serviceId: this.serviceId, reason: (error as Error).message }, 'Consul deregistration failed; the check will expire it');
    }
  }
}

/**
 * Why Consul refused a request for good, or undefined for errors worth retrying (no
 * answer, 5xx, 408 and 429). The client validates some fields before sending (`isValidation`).
 */
function refusalStatus(error: unknown): string | undefined {
  const failure = error as { isValidation?: boolean; response?: { statusCode?: number } };
  if (failure.isValidation === true) return 'invalid request';
  const status = failure.response?.statusCode;
  if (status === undefined || status < 400 || status >= 500 || status === 408 || status === 429) return undefined;
  return `HTTP ${status}`;
}

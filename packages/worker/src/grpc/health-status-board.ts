import { status as grpcStatus, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { HealthCheckRequest__Output, HealthHandlers } from '@infermesh/shared';

/** A grpc.health.v1 serving status. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** The service name grpc.health.v1 uses for the server as a whole. */
export const OVERALL_SERVICE = '';

type Watcher = ServerWritableStream<HealthCheckRequest__Output, { status: string }>;

/**
 * Serving status per service name, answering grpc.health.v1 Check, List and Watch
 * (Consul, Nomad and grpc-health-probe use Check).
 */
export class HealthStatusBoard {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{ service: string; call: Watcher }>();

  constructor(services: readonly string[]) {
    for (const service of [OVERALL_SERVICE, ...services]) this.statuses.set(service, 'NOT_SERVING');
  }

  /** Sets every known service to `status` and tells watchers. */
  setAll(status: ServingStatus): void {
    for (const service of this.statuses.keys()) this.statuses.set(service, status);
    for (const watcher of this.watchers) watcher.call.write({ status: this.statusOf(watcher.service) });
  }

  /** Ends every Watch stream: open streams would keep a graceful shutdown waiting forever. */
  endWatches(): void {
    for (const watcher of this.watchers) watcher.call.end();
    this.watchers.clear();
  }

  private statusOf(service: string): string {
    return this.statuses.get(service) ?? 'SERVICE_UNKNOWN';
  }

  /** grpc-js handlers for the grpc.health.v1.Health service. */
  handlers(): HealthHandlers {
    return {
      Check: (call: ServerUnaryCall<HealthCheckRequest__Output, unknown>, callback: sendUnaryData<{ status: string }>) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) callback({ code: grpcStatus.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        else callback(null, { status });
      },
      List: (_call, callback) => {
        const statuses = Object.fromEntries([...this.statuses].map(([service, status]) => [service, { status }]));
        callback(null, { statuses });
      },
      Watch: (call: Watcher) => {
        const watcher = { service: call.request.service, call };
        this.watchers.add(watcher);
        call.write({ status: this.statusOf(watcher.service) });
        call.on('cancelled', () => this.watchers.delete(watcher));
      },
    } as HealthHandlers;
  }
}

import type { Server, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { InfermeshError } from '@infermesh/shared';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/** The service name grpc.health.v1 uses for the server as a whole. */
export const OVERALL_SERVICE = '';

/** A status the worker sets (grpc.health.v1's UNKNOWN is never reported). */
export type WorkerServingStatus = Extract<ServingStatus, 'SERVING' | 'NOT_SERVING'>;

/** A server-streaming Watch call as grpc-js hands it to the handler. */
type WatchCall = ServerWritableStream<unknown, unknown>;

/**
 * The worker's grpc.health.v1 service (Check, Watch, List from `grpc-health-check`): every
 * service NOT_SERVING until a model is loaded. Watch streams never end on their own, so a
 * graceful server shutdown would wait for them forever: the Watch handler is wrapped to
 * remember its calls, and `shutdown()` ends them.
 */
export class WorkerHealth {
  private readonly implementation: HealthImplementation;
  private readonly services: readonly string[];
  private readonly watches = new Set<WatchCall>();
  private terminal = false;

  constructor(services: readonly string[]) {
    this.services = [OVERALL_SERVICE, ...services];
    this.implementation = new HealthImplementation(Object.fromEntries(this.services.map((service) => [service, 'NOT_SERVING'])));
  }

  /** Sets every service to `status` (Watch streams hear it); ignored once shut down. */
  setAll(status: WorkerServingStatus): void {
    if (this.terminal) return;
    for (const service of this.services) this.implementation.setStatus(service, status);
  }

  /**
   * NOT_SERVING for good, then ends every Watch stream: a load finishing during shutdown
   * cannot turn the worker SERVING again, and no stream is written after it ended.
   */
  shutdown(): void {
    this.setAll('NOT_SERVING');
    this.terminal = true;
    for (const call of this.watches) call.end();
    this.watches.clear();
  }

  /** Adds grpc.health.v1.Health to `server`. */
  addTo(server: Server): void {
    this.implementation.addToServer({
      addService: (definition, handlers) => server.addService(definition as Parameters<Server['addService']>[0], this.trackWatches(handlers as UntypedServiceImplementation)),
    });
  }

  /** The library's handlers, with Watch calls remembered until they end or are cancelled. */
  private trackWatches(handlers: UntypedServiceImplementation): UntypedServiceImplementation {
    const watchKey = Object.keys(handlers).find((name) => name.toLowerCase() === 'watch');
    const watch = watchKey === undefined ? undefined : (handlers[watchKey] as (call: WatchCall) => void);
    if (watchKey === undefined || watch === undefined) throw new InfermeshError('INTERNAL', 'grpc-health-check registered no Watch handler');
    return {
      ...handlers,
      [watchKey]: (call: WatchCall) => {
        watch(call);
        if (this.terminal) {
          call.end();
          return;
        }
        this.watches.add(call);
        call.on('cancelled', () => this.watches.delete(call));
      },
    };
  }
}

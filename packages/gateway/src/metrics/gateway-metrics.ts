import { Counter, Histogram, type Registry } from 'prom-client';

/** Request latency buckets, seconds: 1 ms to 10 s. */
export const REQUEST_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The gateway's request-level metrics, on an injected registry. */
export class GatewayMetrics {
  readonly requestDuration: Histogram<'route' | 'model' | 'status'>;
  readonly defaultOutputs: Counter<'model' | 'reason'>;
  readonly configRejections: Counter<'model'>;

  constructor(registry: Registry) {
    this.requestDuration = new Histogram({
      name: 'infermesh_gateway_request_duration_seconds',
      help: 'Time from request to response, by route, model (configured models only) and HTTP status.',
      labelNames: ['route', 'model', 'status'],
      buckets: REQUEST_DURATION_BUCKETS,
      registers: [registry],
    });
    this.defaultOutputs = new Counter({
      name: 'infermesh_gateway_default_outputs_total',
      help: "Predictions answered with the model's configured default output, by reason.",
      labelNames: ['model', 'reason'],
      registers: [registry],
    });
    this.configRejections = new Counter({
      name: 'infermesh_gateway_config_rejections_total',
      help: 'Model configs rejected as invalid (the previous one kept).',
      labelNames: ['model'],
      registers: [registry],
    });
  }
}

import { InfermeshError } from '@infermesh/shared';
import type { Registry } from 'prom-client';
import { DASHBOARD_ROUTES, type DashboardRouteDependencies } from './dashboard-routes.js';
import { recordFeedback, type RecordFeedbackDependencies } from '../feedback/record-feedback.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import { isModelReady, liveVariants } from '../models/served-model.js';
import { BINARY_TENSOR_DATA_EXTENSION, frameBinaryResponse, type InferBody } from '../predict/binary-tensor-extension.js';
import { inferRest, restMetadata, type InferRestDependencies, type RestInferResult } from '../predict/open-inference-rest.js';
import { predict, type PredictDependencies } from '../predict/predict-service.js';
import { INFER_BODY, JSON_BODY } from './body-kinds.js';
import { describeHistory, type ExperimentHistoryDependencies } from './experiment-history.js';
import { concludeExperiment, describeExperiment, describeExperiments, putExperiment, reopenExperiment, type ExperimentRouteDependencies } from './experiment-routes.js';
import { jsonAnswer, type GatewayRoute, type RouteAnswer } from './gateway-route.js';

/** Extensions of the Open Inference Protocol the gateway implements, as `GET /v2` lists them. */
export const OPEN_INFERENCE_EXTENSIONS = [BINARY_TENSOR_DATA_EXTENSION] as const;

/** What the gateway's routes need. */
export interface RouteDependencies extends PredictDependencies, InferRestDependencies, RecordFeedbackDependencies, ExperimentRouteDependencies, ExperimentHistoryDependencies, DashboardRouteDependencies {
  catalog: ModelCatalog;
  /** The metrics `GET /metrics` exposes. */
  registry: Registry;
  serverVersion: string;
  /** False while starting or shutting down: /readyz and /v2/health/ready answer 503. */
  isAccepting(): boolean;
}

/** An inference's answer: plain JSON, or the binary tensor extension's framing when outputs were asked for as binary data. */
function inferAnswer(result: RestInferResult): RouteAnswer {
  if (result.binary.length === 0) return jsonAnswer(200, result.response);
  const framed = frameBinaryResponse(result.response, result.binary);
  return { kind: 'framed', status: 200, body: framed.body, headerLength: framed.headerLength };
}

/**
 * Every route of the gateway's HTTP API, in the order express matches them. The express app
 * (create-app.ts) and the node:http fast lane (predict-fast-lane.ts) are both built from this
 * table: paths, body kinds, error flavours and handlers are declared here and nowhere else.
 */
export const GATEWAY_ROUTES: readonly GatewayRoute<RouteDependencies>[] = [
  {
    method: 'POST',
    path: '/v1/models/:model/predict',
    body: JSON_BODY,
    errors: 'v1',
    fastLane: true,
    handle: async (call, dependencies) => jsonAnswer(200, await predict(call.model(), call.body(), call.requestId, dependencies)),
  },
  {
    method: 'POST',
    path: '/v1/feedback',
    body: JSON_BODY,
    errors: 'v1',
    async handle(call, dependencies) {
      const result = await recordFeedback(call.body(), call.requestId, dependencies);
      return jsonAnswer(result.counted ? 202 : 200, result);
    },
  },
  { method: 'GET', path: '/v1/experiments', errors: 'v1', handle: (_call, dependencies) => jsonAnswer(200, { experiments: describeExperiments(dependencies) }) },
  { method: 'GET', path: '/v1/experiments/:model', errors: 'v1', handle: (call, dependencies) => jsonAnswer(200, describeExperiment(call.model(), dependencies)) },
  {
    method: 'GET',
    path: '/v1/experiments/:model/history',
    errors: 'v1',
    handle: async (call, dependencies) => jsonAnswer(200, await describeHistory(call.model(), { from: call.query('from'), to: call.query('to') }, dependencies)),
  },
  {
    method: 'PUT',
    path: '/v1/experiments/:model',
    body: JSON_BODY,
    errors: 'v1',
    handle: async (call, dependencies) => jsonAnswer(200, await putExperiment(call.header('authorization'), call.param('model'), call.body(), dependencies, call.header('if-match'))),
  },
  ...DASHBOARD_ROUTES,
  {
    method: 'POST',
    path: '/v1/experiments/:model/conclude',
    body: JSON_BODY,
    errors: 'v1',
    handle: async (call, dependencies) => jsonAnswer(200, await concludeExperiment(call.header('authorization'), call.param('model'), call.body(), dependencies)),
  },
  {
    method: 'POST',
    path: '/v1/experiments/:model/reopen',
    errors: 'v1',
    handle: async (call, dependencies) => jsonAnswer(200, await reopenExperiment(call.header('authorization'), call.param('model'), dependencies)),
  },
  {
    method: 'GET',
    path: '/v2',
    errors: 'v2',
    handle: (_call, dependencies) => jsonAnswer(200, { name: 'infermesh-gateway', version: dependencies.serverVersion, extensions: OPEN_INFERENCE_EXTENSIONS }),
  },
  { method: 'GET', path: '/v2/health/live', errors: 'v2', handle: () => jsonAnswer(200, { live: true }) },
  {
    method: 'GET',
    path: '/v2/health/ready',
    errors: 'v2',
    handle(_call, dependencies) {
      const ready = dependencies.isAccepting() && dependencies.catalog.all().every(isModelReady);
      return jsonAnswer(ready ? 200 : 503, { ready });
    },
  },
  {
    method: 'GET',
    path: '/v2/models/:model',
    errors: 'v2',
    async handle(call) {
      const model = call.model();
      const [variant] = liveVariants(model);
      if (variant === undefined) throw new InfermeshError('NO_HEALTHY_WORKER', `model '${model.name}' has no live variant`);
      return jsonAnswer(200, restMetadata(model.name, await variant.pool.metadata(model.config.workerModel ?? model.name)));
    },
  },
  {
    method: 'GET',
    path: '/v2/models/:model/ready',
    errors: 'v2',
    handle(call) {
      const ready = isModelReady(call.model());
      return jsonAnswer(ready ? 200 : 503, { name: call.param('model'), ready });
    },
  },
  {
    method: 'POST',
    path: '/v2/models/:model/infer',
    body: INFER_BODY,
    errors: 'v2',
    fastLane: true,
    async handle(call, dependencies) {
      const model = call.model();
      return inferAnswer(await inferRest(model, call.body() as InferBody, call.requestId, dependencies));
    },
  },
  { method: 'GET', path: '/healthz', errors: 'v1', handle: () => jsonAnswer(200, { status: 'ok' }) },
  {
    method: 'GET',
    path: '/readyz',
    errors: 'v1',
    handle(_call, dependencies) {
      const models = Object.fromEntries(
        dependencies.catalog.all().map((model) => [model.name, Object.fromEntries(model.variants.map((variant) => [variant.name, { healthyWorkers: variant.pool.healthyCount(), workers: variant.pool.size() }]))]),
      );
      const ready = dependencies.isAccepting();
      return jsonAnswer(ready ? 200 : 503, { ready, models });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    errors: 'v1',
    handle: async (_call, { registry }) => ({ kind: 'text', status: 200, contentType: registry.contentType, body: await registry.metrics() }),
  },
];

import express, { type NextFunction, type Request, type Response } from 'express';
import { InfermeshError, REQUEST_ID_HEADER, type Logger } from '@infermesh/shared';
import type { Registry } from 'prom-client';
import type { RandomSource } from '@infermesh/experiments';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { FeedbackTokenSigner } from '../feedback/feedback-token-signer.js';
import type { ShadowRunner } from '../experiments/shadow/shadow-runner.js';
import { describeExperiment, putExperiment, recordFeedback, type ExperimentRouteDependencies } from './experiment-routes.js';
import { predict } from '../predict/predict-service.js';
import { OPEN_INFERENCE_INFER_ROUTE, openInferenceBodyParser, registerOpenInferenceRoutes } from './open-inference-routes.js';
import { toErrorResponse } from './to-error-response.js';
import { resolveRequestId } from './request-id.js';
import { observeRequest } from './request-observer.js';
import { v1ErrorBody, v2ErrorBody } from './error-body.js';
import { findModel } from './find-model.js';
import { PREDICT_ROUTE } from './predict-fast-lane.js';

/** What the HTTP app needs. */
export interface AppDependencies extends ExperimentRouteDependencies {
  catalog: ModelCatalog;
  metrics: GatewayMetrics;
  registry: Registry;
  logger: Logger;
  /** Wall-clock milliseconds since the epoch. */
  now: () => number;
  /** Monotonic milliseconds: request durations. */
  elapsed: () => number;
  random: RandomSource;
  /** A new, unique prediction id. */
  newPredictionId: () => string;
  feedbackTokens: FeedbackTokenSigner;
  shadows: ShadowRunner;
  maxBodyBytes: number;
  serverVersion: string;
  /** False while starting or shutting down: /readyz and /v2/health/ready answer 503. */
  isAccepting(): boolean;
}

interface Locals {
  requestId: string;
  model?: string;
  route: string;
  errorCode?: string;
}

const locals = (response: Response) => response.locals as Locals;

/** Builds the gateway's express app: v1 predictions, Open Inference Protocol v2 REST, health and metrics. */
export function createApp(dependencies: AppDependencies): express.Express {
  const { catalog, metrics, logger } = dependencies;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((request, response, next) => {
    const requestId = resolveRequestId(request.headers[REQUEST_ID_HEADER]);
    Object.assign(response.locals, { requestId, route: 'unmatched' } satisfies Locals);
    response.setHeader(REQUEST_ID_HEADER, requestId);
    const started = dependencies.elapsed();
    response.on('finish', () => {
      const { route, model, errorCode } = locals(response);
      observeRequest(metrics, logger, { requestId, method: request.method, route, model, status: response.statusCode, errorCode, durationMs: dependencies.elapsed() - started });
    });
    next();
  });
  app.post(OPEN_INFERENCE_INFER_ROUTE, openInferenceBodyParser(dependencies.maxBodyBytes));
  app.use(express.json({ limit: dependencies.maxBodyBytes, strict: false, type: ['application/json', 'application/*+json'] }));

  const served = (route: string) => (request: Request, response: Response) => {
    locals(response).route = route;
    const name = String(request.params.model);
    const model = findModel(catalog, name);
    locals(response).model = name;
    return model;
  };
  const jsonBody = (request: Request) => {
    if (!request.is(['application/json', 'application/*+json'])) {
      throw new InfermeshError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    }
    return request.body as unknown;
  };
  const handle = (route: string, fn: (request: Request, response: Response) => Promise<unknown> | unknown) =>
    async (request: Request, response: Response, next: NextFunction) => {
      locals(response).route = route;
      try {
        const body = await fn(request, response);
        if (!response.headersSent) response.json(body);
      } catch (error) {
        next(error);
      }
    };

  // Most predictions never get here: the fast lane (predict-fast-lane.ts) serves them ahead of express.
  app.post(PREDICT_ROUTE, handle(PREDICT_ROUTE, (request, response) =>
    predict(served(PREDICT_ROUTE)(request, response), jsonBody(request), locals(response).requestId, dependencies)));

  app.post('/v1/feedback', handle('/v1/feedback', async (request, response) => {
    const result = await recordFeedback(jsonBody(request), locals(response).requestId, dependencies);
    response.status(result.counted ? 202 : 200);
    return result;
  }));
  app.get('/v1/experiments', handle('/v1/experiments', () => ({
    experiments: catalog.all().filter((model) => model.experiment !== undefined).map((model) => {
      // One model's problem must not hide every other experiment.
      try {
        return describeExperiment(model, dependencies);
      } catch (error) {
        const typed = InfermeshError.from(error);
        logger.error({ model: model.name, err: error }, 'cannot describe the experiment');
        return { model: model.name, error: { code: typed.code, message: typed.clientMessage } };
      }
    }),
  })));
  app.get('/v1/experiments/:model', handle('/v1/experiments/:model', (request, response) =>
    describeExperiment(served('/v1/experiments/:model')(request, response), dependencies)));
  app.put('/v1/experiments/:model', handle('/v1/experiments/:model', (request, response) => {
    locals(response).route = '/v1/experiments/:model';
    return putExperiment(request, String(request.params.model), jsonBody(request), dependencies);
  }));

  registerOpenInferenceRoutes(app, { handle, served, requestId: (response) => locals(response).requestId }, dependencies);

  app.get('/healthz', handle('/healthz', () => ({ status: 'ok' })));
  app.get('/readyz', handle('/readyz', (_request, response) => {
    const models = Object.fromEntries(
      catalog.all().map((model) => [model.name, Object.fromEntries(model.variants.map((variant) => [variant.name, { healthyWorkers: variant.pool.healthyCount(), workers: variant.pool.size() }]))]),
    );
    const ready = dependencies.isAccepting();
    if (!ready) response.status(503);
    return { ready, models };
  }));
  app.get('/metrics', async (_request, response, next) => {
    locals(response).route = '/metrics';
    try {
      response.type(dependencies.registry.contentType).send(await dependencies.registry.metrics());
    } catch (error) {
      next(error);
    }
  });

  const knownPaths = [/^\/v1\/models\/[^/]+\/predict$/, /^\/v1\/feedback$/, /^\/v1\/experiments(\/[^/]+)?$/, /^\/v2(\/health\/(live|ready))?$/, /^\/v2\/models\/[^/]+(\/ready|\/infer)?$/, /^\/(healthz|readyz|metrics)$/];
  app.use((request, _response, next) => {
    const known = knownPaths.some((pattern) => pattern.test(request.path));
    next(
      known
        ? new InfermeshError('METHOD_NOT_ALLOWED', `${request.method} is not supported on ${request.path}`)
        : new InfermeshError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.path}; see /v1/models/{model}/predict and /v2`),
    );
  });

  app.use((thrown: unknown, request: Request, response: Response, _next: NextFunction) => {
    const { status, error } = toErrorResponse(thrown);
    locals(response).errorCode = error.code;
    if (status >= 500 && error.code === 'INTERNAL') logger.error({ requestId: locals(response).requestId, err: thrown }, 'unexpected error');
    if (response.headersSent) return;
    // The v2 routes follow the Open Inference Protocol's error body ({"error": "message"}), plus the code.
    const body = request.path.startsWith('/v2') ? v2ErrorBody(error) : v1ErrorBody(error, locals(response).requestId);
    response.status(status).json(body);
  });
  return app;
}

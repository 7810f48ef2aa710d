import express, { type NextFunction, type Request, type Response } from 'express';
import { InfermeshError, REQUEST_ID_HEADER } from '@infermesh/shared';
import type { ServedModel } from '../models/served-model.js';
import { BINARY_BODY_CONTENT_TYPE, INFERENCE_HEADER_CONTENT_LENGTH } from '../predict/binary-tensor-extension.js';
import type { BodyKind } from './body-kinds.js';
import { errorBody, unroutedErrorFlavour, type ErrorFlavour } from './error-body.js';
import { findModel } from './find-model.js';
import type { GatewayRoute, RouteAnswer, RouteCall } from './gateway-route.js';
import { GATEWAY_ROUTES, type RouteDependencies } from './gateway-routes.js';
import { resolveRequestId } from './request-id.js';
import { observeRequest } from './request-observer.js';
import { compilePath } from './route-path.js';
import { toErrorResponse } from './to-error-response.js';

/** What the HTTP app needs. */
export interface AppDependencies extends RouteDependencies {
  maxBodyBytes: number;
}

interface Locals {
  requestId: string;
  model?: string;
  route: string;
  errorCode?: string;
}

const locals = (response: Response) => response.locals as Locals;

/** A request as the table's handlers see it, on express. */
class ExpressCall implements RouteCall {
  constructor(
    private readonly request: Request,
    private readonly response: Response,
    private readonly bodyKind: BodyKind | undefined,
    private readonly dependencies: RouteDependencies,
  ) {}

  get requestId(): string {
    return locals(this.response).requestId;
  }

  param(name: string): string {
    return String(this.request.params[name]);
  }

  model(): ServedModel {
    const name = this.param('model');
    const model = findModel(this.dependencies.catalog, name);
    locals(this.response).model = name;
    return model;
  }

  body(): unknown {
    return this.bodyKind?.fromExpress(this.request);
  }

  header(name: string): string | undefined {
    return this.request.get(name);
  }

  query(name: string): string | undefined {
    return new URL(this.request.originalUrl, 'http://gateway').searchParams.get(name) ?? undefined;
  }
}

function send(response: Response, answer: RouteAnswer): void {
  response.status(answer.status);
  switch (answer.kind) {
    case 'json':
      response.json(answer.body);
      return;
    case 'framed':
      response.setHeader(INFERENCE_HEADER_CONTENT_LENGTH, String(answer.headerLength));
      response.type(BINARY_BODY_CONTENT_TYPE).send(answer.body);
      return;
    case 'text':
      response.type(answer.contentType).send(answer.body);
      return;
    case 'stream':
      openStream(response, answer);
  }
}

/** Sends a streaming answer's headers at once (no buffering by proxies either) and hands the route its open end. */
function openStream(response: Response, answer: Extract<RouteAnswer, { kind: 'stream' }>): void {
  response.setHeader('content-type', answer.contentType);
  response.setHeader('cache-control', 'no-cache');
  response.setHeader('x-accel-buffering', 'no');
  response.flushHeaders();
  let closed = false;
  const listeners: (() => void)[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    for (const listener of listeners.splice(0)) listener();
  };
  response.on('close', close);
  answer.open({
    write: (chunk) => {
      if (!closed) response.write(chunk);
    },
    end: () => {
      if (!closed) response.end();
      close();
    },
    onClose: (listener) => {
      if (closed) listener();
      else listeners.push(listener);
    },
  });
}

/** The paths of a route table, as patterns that tell a wrong method (405) from an unknown path (404), with each path's error flavour. */
function knownPaths(routes: readonly GatewayRoute<RouteDependencies>[]): { pattern: RegExp; errors: ErrorFlavour }[] {
  return [...new Map(routes.map((route) => [route.path, route.errors])).entries()].map(([path, errors]) => ({ pattern: compilePath(path, '[^/]+').pattern, errors }));
}

/**
 * Builds the gateway's express app from the route table (gateway-routes.ts): v1 predictions,
 * feedback and experiments, Open Inference Protocol v2 REST, health and metrics. The requests
 * the fast lane (predict-fast-lane.ts) takes never get here.
 */
export function createApp(dependencies: AppDependencies, routes: readonly GatewayRoute<RouteDependencies>[] = GATEWAY_ROUTES): express.Express {
  const { metrics, logger } = dependencies;
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
  // A route's own body parser runs ahead of the app-wide ones, which then leave the consumed body alone.
  for (const route of routes) {
    if (route.body?.parserScope === 'route') app.route(route.path)[lowerCase(route.method)](route.body.expressParser(dependencies.maxBodyBytes));
  }
  for (const kind of new Set(routes.flatMap((route) => (route.body?.parserScope === 'app' ? [route.body] : [])))) app.use(kind.expressParser(dependencies.maxBodyBytes));

  for (const route of routes) {
    app.route(route.path)[lowerCase(route.method)](async (request: Request, response: Response, next: NextFunction) => {
      locals(response).route = route.path;
      for (const [name, value] of Object.entries(route.headers ?? {})) response.setHeader(name, value);
      try {
        send(response, await route.handle(new ExpressCall(request, response, route.body, dependencies), dependencies));
      } catch (error) {
        next(error);
      }
    });
  }

  const known = knownPaths(routes);
  app.use((request, _response, next) => {
    next(
      known.some(({ pattern }) => pattern.test(request.path))
        ? new InfermeshError('METHOD_NOT_ALLOWED', `${request.method} is not supported on ${request.path}`)
        : new InfermeshError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.path}; see /v1/models/{model}/predict and /v2`),
    );
  });

  app.use((thrown: unknown, request: Request, response: Response, _next: NextFunction) => {
    const { status, error } = toErrorResponse(thrown);
    locals(response).errorCode = error.code;
    if (status >= 500 && error.code === 'INTERNAL') logger.error({ requestId: locals(response).requestId, err: thrown }, 'unexpected error');
    if (response.headersSent) return;
    // The path's route decides; a path no route declares gets the flavour its prefix implies.
    const flavour = known.find(({ pattern }) => pattern.test(request.path))?.errors ?? unroutedErrorFlavour(request.path);
    response.status(status).json(errorBody(flavour, error, locals(response).requestId));
  });
  return app;
}

const lowerCase = (method: GatewayRoute<unknown>['method']) => method.toLowerCase() as Lowercase<typeof method>;

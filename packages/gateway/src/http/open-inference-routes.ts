import type { IncomingMessage } from 'node:http';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { InfermeshError } from '@infermesh/shared';
import type { ModelCatalog } from '../models/model-catalog.js';
import { isModelReady, liveVariants, type ServedModel } from '../models/served-model.js';
import {
  BINARY_BODY_CONTENT_TYPE,
  BINARY_TENSOR_DATA_EXTENSION,
  frameBinaryResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseInferBody,
} from '../predict/binary-tensor-extension.js';
import { inferRest, restMetadata, type InferRestDependencies } from '../predict/open-inference-rest.js';

/** Path of the v2 inference route; its body parser runs ahead of the app's JSON parser. */
export const OPEN_INFERENCE_INFER_ROUTE = '/v2/models/:model/infer';

/** Extensions of the Open Inference Protocol the gateway implements, as `GET /v2` lists them. */
export const OPEN_INFERENCE_EXTENSIONS = [BINARY_TENSOR_DATA_EXTENSION] as const;

/** The app's request plumbing the v2 routes reuse, so labels, logs and errors stay uniform. */
export interface OpenInferenceRouteHelpers {
  /** Labels the route, answers JSON with what `fn` returns (unless it answered itself), passes throws on. */
  handle(route: string, fn: (request: Request, response: Response) => Promise<unknown> | unknown): RequestHandler;
  /** Resolves the model named in the path (and labels it), or throws MODEL_NOT_FOUND. */
  served(route: string): (request: Request, response: Response) => ServedModel;
  /** The request id the app assigned. */
  requestId(response: Response): string;
}

/** What the v2 routes need. */
export interface OpenInferenceRouteDependencies extends InferRestDependencies {
  catalog: ModelCatalog;
  serverVersion: string;
  /** False while starting or shutting down: /v2/health/ready answers 503. */
  isAccepting(): boolean;
}

type BodyKind = 'json' | 'binary' | 'other';

/**
 * What a v2 inference body's Content-Type allows. None at all is JSON, as Triton and KServe
 * read it (Triton's HTTP client sends none); application/octet-stream is the binary tensor
 * data extension, which the Inference-Header-Content-Length header then frames.
 */
function bodyKind(request: IncomingMessage): BodyKind {
  const mediaType = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === '' || mediaType === 'application/json' || /^application\/[^/]+\+json$/.test(mediaType)) return 'json';
  if (mediaType === BINARY_BODY_CONTENT_TYPE) return 'binary';
  return 'other';
}

const CHARSET_PARAMETER = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/** The request body split into JSON header and binary part, after the Content-Type rules. */
function readInferBody(request: Request) {
  const kind = bodyKind(request);
  const headerLength = request.get(INFERENCE_HEADER_CONTENT_LENGTH);
  if (kind === 'other' || (kind === 'binary' && headerLength === undefined)) {
    throw new InfermeshError(
      'UNSUPPORTED_MEDIA_TYPE',
      kind === 'binary'
        ? `an ${BINARY_BODY_CONTENT_TYPE} body needs the Inference-Header-Content-Length header (binary tensor data extension)`
        : `send the body as application/json (or without Content-Type), or as ${BINARY_BODY_CONTENT_TYPE} with Inference-Header-Content-Length`,
    );
  }
  const charset = CHARSET_PARAMETER.exec(request.get('content-type') ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new InfermeshError('UNSUPPORTED_MEDIA_TYPE', `unsupported charset "${charset.slice(0, 40)}": JSON must be UTF-8`);
  }
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  return parseInferBody(body, headerLength);
}

/**
 * Reads v2 inference bodies as bytes — JSON, or JSON followed by binary tensor data —
 * inflating gzip/deflate and enforcing `maxBodyBytes` on the inflated size (413 beyond).
 * Register it before the app's JSON parser, which then leaves the consumed body alone.
 */
export function openInferenceBodyParser(maxBodyBytes: number): RequestHandler {
  return express.raw({ limit: maxBodyBytes, type: (request) => bodyKind(request) !== 'other' });
}

/** Registers the Open Inference Protocol v2 REST routes (health, metadata, readiness, inference). */
export function registerOpenInferenceRoutes(app: Express, helpers: OpenInferenceRouteHelpers, dependencies: OpenInferenceRouteDependencies): void {
  const { handle, served } = helpers;
  const { catalog } = dependencies;

  app.get('/v2', handle('/v2', () => ({ name: 'infermesh-gateway', version: dependencies.serverVersion, extensions: OPEN_INFERENCE_EXTENSIONS })));
  app.get('/v2/health/live', handle('/v2/health/live', () => ({ live: true })));
  app.get('/v2/health/ready', handle('/v2/health/ready', (_request, response) => {
    const ready = dependencies.isAccepting() && catalog.all().every(isModelReady);
    if (!ready) response.status(503);
    return { ready };
  }));
  app.get('/v2/models/:model', handle('/v2/models/:model', async (request, response) => {
    const model = served('/v2/models/:model')(request, response);
    const [variant] = liveVariants(model);
    if (variant === undefined) throw new InfermeshError('NO_HEALTHY_WORKER', `model '${model.name}' has no live variant`);
    return restMetadata(model.name, await variant.pool.metadata(model.config.workerModel ?? model.name));
  }));
  app.get('/v2/models/:model/ready', handle('/v2/models/:model/ready', (request, response) => {
    const ready = isModelReady(served('/v2/models/:model/ready')(request, response));
    if (!ready) response.status(503);
    return { name: request.params.model, ready };
  }));
  app.post(OPEN_INFERENCE_INFER_ROUTE, handle(OPEN_INFERENCE_INFER_ROUTE, async (request, response) => {
    const model = served(OPEN_INFERENCE_INFER_ROUTE)(request, response);
    const result = await inferRest(model, readInferBody(request), helpers.requestId(response), dependencies);
    if (result.binary.length === 0) return result.response;
    const framed = frameBinaryResponse(result.response, result.binary);
    response.setHeader(INFERENCE_HEADER_CONTENT_LENGTH, String(framed.headerLength));
    response.type(BINARY_BODY_CONTENT_TYPE).send(framed.body);
    return undefined;
  }));
}

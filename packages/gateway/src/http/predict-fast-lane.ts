import type { IncomingMessage, ServerResponse } from 'node:http';
import { InfermeshError, REQUEST_ID_HEADER, type Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { ServedModel } from '../models/served-model.js';
import { BINARY_BODY_CONTENT_TYPE, frameBinaryResponse, INFERENCE_HEADER_CONTENT_LENGTH, parseInferBody } from '../predict/binary-tensor-extension.js';
import { inferRest, type InferRestDependencies } from '../predict/open-inference-rest.js';
import { predict, type PredictDependencies } from '../predict/predict-service.js';
import { v1ErrorBody, v2ErrorBody } from './error-body.js';
import { findModel } from './find-model.js';
import { OPEN_INFERENCE_INFER_ROUTE } from './open-inference-routes.js';
import { resolveRequestId } from './request-id.js';
import { observeRequest } from './request-observer.js';
import { toErrorResponse } from './to-error-response.js';

/** The route label of the predictions the lane serves: the same as express's. */
export const PREDICT_ROUTE = '/v1/models/:model/predict';

/** `/v1/models/{model}/predict` with a plain model name: no escapes, no query string (express takes those). */
const PREDICT_PATH = /^\/v1\/models\/([A-Za-z0-9._-]+)\/predict$/;
/** `/v2/models/{model}/infer`, likewise. */
const INFER_PATH = /^\/v2\/models\/([A-Za-z0-9._-]+)\/infer$/;

/** JSON media types the lane reads; a charset other than UTF-8, or any other parameter, goes to express. */
const PLAIN_JSON_CONTENT_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

const JSON_HEADERS = 'application/json; charset=utf-8';

/** What the lane needs. */
export interface PredictFastLaneDependencies extends PredictDependencies, InferRestDependencies {
  catalog: ModelCatalog;
  metrics: GatewayMetrics;
  logger: Logger;
  maxBodyBytes: number;
}

/** One of the two routes the lane serves: how its body becomes an answer, and how its errors read. */
interface LaneRoute {
  label: string;
  /** The body as the route reads it; throws a client error for a malformed one. */
  read(body: Buffer): unknown;
  /** Whether the body is read before the model is looked up, as express does on this route (its body parser runs first on /v1). */
  readsBodyFirst: boolean;
  serve(model: ServedModel, body: unknown, requestId: string, response: ServerResponse): Promise<{ status: number; body: unknown } | undefined>;
  errorBody(error: InfermeshError, requestId: string): unknown;
}

/**
 * Serves the common prediction requests — `POST /v1/models/{model}/predict` and
 * `POST /v2/models/{model}/infer` with an uncompressed UTF-8 JSON body — straight on node:http,
 * and returns false for every other request, which the express app then serves. Express's
 * per-request work (prototype swaps, the router's layer walk, body-parser's content negotiation,
 * res.json's header logic) cost more CPU than the whole prediction does (see docs/benchmarks.md);
 * the answers, status codes, headers, metrics and log lines are the same either way, and the
 * rarer shapes (gzip, other charsets, escaped names, query strings, the binary tensor extension's
 * requests) keep express's complete handling.
 */
export function createPredictFastLane(dependencies: PredictFastLaneDependencies): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { catalog, metrics, logger, maxBodyBytes } = dependencies;

  const answer = (response: ServerResponse, status: number, body: unknown, requestId: string) => {
    // Encoded once: its length is the buffer's, not a second pass over the string.
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    response.writeHead(status, { 'content-type': JSON_HEADERS, 'content-length': payload.length, [REQUEST_ID_HEADER]: requestId });
    response.end(payload);
  };

  const v1: LaneRoute = {
    label: PREDICT_ROUTE,
    read(body) {
      const text = body.toString('utf8');
      try {
        // As express.json does: an empty body is an empty object, which validation then refuses by name.
        return text.length === 0 ? {} : (JSON.parse(text) as unknown);
      } catch (error) {
        throw new InfermeshError('MALFORMED_JSON', `request body is not valid JSON: ${(error as Error).message}`);
      }
    },
    readsBodyFirst: true,
    async serve(model, body, requestId) {
      return { status: 200, body: await predict(model, body, requestId, dependencies) };
    },
    errorBody: v1ErrorBody,
  };

  const v2: LaneRoute = {
    label: OPEN_INFERENCE_INFER_ROUTE,
    read: (body) => parseInferBody(body, undefined),
    readsBodyFirst: false,
    async serve(model, body, requestId, response) {
      const result = await inferRest(model, body as ReturnType<typeof parseInferBody>, requestId, dependencies);
      if (result.binary.length === 0) return { status: 200, body: result.response };
      // Outputs asked for as binary data: the extension's framing, as the express route writes it.
      const framed = frameBinaryResponse(result.response, result.binary);
      response.writeHead(200, { 'content-type': BINARY_BODY_CONTENT_TYPE, 'content-length': framed.body.length, [INFERENCE_HEADER_CONTENT_LENGTH]: String(framed.headerLength), [REQUEST_ID_HEADER]: requestId });
      response.end(framed.body);
      return undefined;
    },
    errorBody: (error) => v2ErrorBody(error),
  };

  return (request, response) => {
    if (request.method !== 'POST') return false;
    const url = request.url ?? '';
    let path = PREDICT_PATH.exec(url);
    let route = v1;
    if (path === null) {
      path = INFER_PATH.exec(url);
      route = v2;
      if (path === null) return false;
    }
    const { headers } = request;
    const contentType = headers['content-type'];
    if (contentType === undefined ? route === v1 : !PLAIN_JSON_CONTENT_TYPE.test(contentType)) return false;
    // The binary tensor data extension's framing is express's to read.
    if (headers[INFERENCE_HEADER_CONTENT_LENGTH.toLowerCase()] !== undefined) return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    // A request without a body (neither length nor chunks) is express's to refuse.
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return false;

    const started = dependencies.elapsed();
    const requestId = resolveRequestId(headers[REQUEST_ID_HEADER]);
    const name = path[1]!;
    let model: string | undefined;
    let status = 200;
    const observe = (errorCode: string | undefined) =>
      observeRequest(metrics, logger, { requestId, method: 'POST', route: route.label, model, status, errorCode, durationMs: dependencies.elapsed() - started });
    const fail = (thrown: unknown) => {
      const { status: errorStatus, error } = toErrorResponse(thrown);
      if (errorStatus >= 500 && error.code === 'INTERNAL') logger.error({ requestId, err: thrown }, 'unexpected error');
      status = errorStatus;
      if (!response.headersSent) answer(response, errorStatus, route.errorBody(error, requestId), requestId);
      observe(error.code);
    };

    const declared = Number(headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      fail(new InfermeshError('PAYLOAD_TOO_LARGE', 'request body is larger than the gateway accepts (--max-body-bytes)'));
      return true;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > maxBodyBytes) {
        refused = true;
        fail(new InfermeshError('PAYLOAD_TOO_LARGE', 'request body is larger than the gateway accepts (--max-body-bytes)'));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let served: ServedModel;
      let body: unknown;
      try {
        if (route.readsBodyFirst) body = route.read(bytes);
        served = findModel(catalog, name);
        model = name;
        if (!route.readsBodyFirst) body = route.read(bytes);
      } catch (error) {
        fail(error);
        return;
      }
      route.serve(served, body, requestId, response).then((result) => {
        if (result !== undefined) answer(response, result.status, result.body, requestId);
        observe(undefined);
      }, fail);
    });
    return true;
  };
}

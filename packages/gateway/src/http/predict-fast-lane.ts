import type { IncomingMessage, ServerResponse } from 'node:http';
import { InfermeshError, REQUEST_ID_HEADER, type Logger } from '@infermesh/shared';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import { predict, type PredictDependencies } from '../predict/predict-service.js';
import { v1ErrorBody } from './error-body.js';
import { findModel } from './find-model.js';
import { resolveRequestId } from './request-id.js';
import { observeRequest } from './request-observer.js';
import { toErrorResponse } from './to-error-response.js';

/** The route label of the predictions the lane serves: the same as express's. */
export const PREDICT_ROUTE = '/v1/models/:model/predict';

/** `/v1/models/{model}/predict` with a plain model name: no escapes, no query string (express takes those). */
const PREDICT_PATH = /^\/v1\/models\/([A-Za-z0-9._-]+)\/predict$/;

/** JSON media types the lane reads; a charset other than UTF-8, or any other parameter, goes to express. */
const PLAIN_JSON_CONTENT_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

const JSON_HEADERS = 'application/json; charset=utf-8';

/** What the lane needs. */
export interface PredictFastLaneDependencies extends PredictDependencies {
  catalog: ModelCatalog;
  metrics: GatewayMetrics;
  logger: Logger;
  maxBodyBytes: number;
}

/**
 * Serves the common prediction request — `POST /v1/models/{model}/predict`, an uncompressed
 * UTF-8 JSON body — straight on node:http, and returns false for every other request, which
 * the express app then serves. Express's per-request work (prototype swaps, the router's
 * layer walk, body-parser's content negotiation, res.json's header logic) cost more CPU than
 * the whole prediction does (see docs/benchmarks.md); the answers, status codes, headers,
 * metrics and log lines are the same either way, and the rarer shapes (gzip, other charsets,
 * escaped names, query strings) keep express's complete handling.
 */
export function createPredictFastLane(dependencies: PredictFastLaneDependencies): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { catalog, metrics, logger, maxBodyBytes } = dependencies;

  const answer = (response: ServerResponse, status: number, body: unknown, requestId: string) => {
    // Encoded once: its length is the buffer's, not a second pass over the string.
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    response.writeHead(status, { 'content-type': JSON_HEADERS, 'content-length': payload.length, [REQUEST_ID_HEADER]: requestId });
    response.end(payload);
  };

  return (request, response) => {
    if (request.method !== 'POST') return false;
    const path = PREDICT_PATH.exec(request.url ?? '');
    if (path === null) return false;
    const { headers } = request;
    const contentType = headers['content-type'];
    if (contentType === undefined || !PLAIN_JSON_CONTENT_TYPE.test(contentType)) return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    // A request without a body (neither length nor chunks) is express's to refuse.
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return false;

    const started = dependencies.elapsed();
    const requestId = resolveRequestId(headers[REQUEST_ID_HEADER]);
    const name = path[1]!;
    let model: string | undefined;
    const finish = (status: number, body: unknown, errorCode: string | undefined) => {
      answer(response, status, body, requestId);
      observeRequest(metrics, logger, { requestId, method: 'POST', route: PREDICT_ROUTE, model, status, errorCode, durationMs: dependencies.elapsed() - started });
    };
    const fail = (thrown: unknown) => {
      const { status, error } = toErrorResponse(thrown);
      if (status >= 500 && error.code === 'INTERNAL') logger.error({ requestId, err: thrown }, 'unexpected error');
      finish(status, v1ErrorBody(error, requestId), error.code);
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
      let body: unknown;
      try {
        const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
        // As express.json does: an empty body is an empty object, which validation then refuses by name.
        body = text.length === 0 ? {} : JSON.parse(text);
      } catch (error) {
        fail(new InfermeshError('MALFORMED_JSON', `request body is not valid JSON: ${(error as Error).message}`));
        return;
      }
      let served;
      try {
        served = findModel(catalog, name);
      } catch (error) {
        fail(error);
        return;
      }
      model = name;
      predict(served, body, requestId, dependencies).then((result) => finish(200, result, undefined), fail);
    });
    return true;
  };
}

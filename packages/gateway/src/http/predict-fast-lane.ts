import type { IncomingMessage, ServerResponse } from 'node:http';
import { InfermeshError, REQUEST_ID_HEADER } from '@infermesh/shared';
import type { ServedModel } from '../models/served-model.js';
import { BINARY_BODY_CONTENT_TYPE, INFERENCE_HEADER_CONTENT_LENGTH } from '../predict/binary-tensor-extension.js';
import type { LaneBodyKind } from './body-kinds.js';
import { errorBody } from './error-body.js';
import { findModel } from './find-model.js';
import type { GatewayRoute, RouteAnswer, RouteCall } from './gateway-route.js';
import { GATEWAY_ROUTES, type RouteDependencies } from './gateway-routes.js';
import { resolveRequestId } from './request-id.js';
import { observeRequest } from './request-observer.js';
import { compilePath } from './route-path.js';
import { toErrorResponse } from './to-error-response.js';

/** A path parameter the lane matches: a plain name, no escapes (express decodes those). */
const LANE_PARAMETER = '[A-Za-z0-9._-]+';

const JSON_HEADERS = 'application/json; charset=utf-8';

/** What the lane needs. */
export interface PredictFastLaneDependencies extends RouteDependencies {
  maxBodyBytes: number;
}

/** A fast route of the table, compiled for the lane. */
interface LaneRoute {
  route: GatewayRoute<RouteDependencies>;
  method: string;
  /** Matches the whole request target: a query string does not match (express takes those). */
  pattern: RegExp;
  parameters: readonly string[];
  body: LaneBodyKind;
}

/** The table's routes the lane serves, each with its precompiled matcher, in the table's order. */
export function laneRoutes(routes: readonly GatewayRoute<RouteDependencies>[]): LaneRoute[] {
  return routes.flatMap((route) => {
    if (route.fastLane !== true) return [];
    const { pattern, parameters } = compilePath(route.path, LANE_PARAMETER);
    return [{ route, method: route.method, pattern, parameters, body: route.body }];
  });
}

/** One request the lane serves, as the table's handlers see it. */
class LaneCall implements RouteCall {
  /** The model label of the request's metrics and log line: set once the model is found. */
  modelLabel: string | undefined;
  /** The body, once parsed. */
  parsed: unknown;
  bytes: Buffer | undefined;

  constructor(
    readonly requestId: string,
    private readonly lane: LaneRoute,
    private readonly match: RegExpExecArray,
    private readonly request: IncomingMessage,
    private readonly dependencies: RouteDependencies,
  ) {}

  param(name: string): string {
    // As express's String(request.params[name]).
    return String(this.match[this.lane.parameters.indexOf(name) + 1]);
  }

  model(): ServedModel {
    const name = this.param('model');
    const model = findModel(this.dependencies.catalog, name);
    this.modelLabel = name;
    return model;
  }

  body(): unknown {
    if (this.bytes !== undefined) {
      this.parsed = this.lane.body.fromBytes(this.bytes);
      this.bytes = undefined;
    }
    return this.parsed;
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  query(name: string): string | undefined {
    return new URL(this.request.url ?? '/', 'http://gateway').searchParams.get(name) ?? undefined;
  }
}

/**
 * Serves the common requests of the table's fast routes — today `POST /v1/models/{model}/predict`
 * and `POST /v2/models/{model}/infer` with an uncompressed UTF-8 JSON body — straight on node:http,
 * and returns false for every other request, which the express app then serves. Express's
 * per-request work (prototype swaps, the router's layer walk, body-parser's content negotiation,
 * res.json's header logic) cost more CPU than the whole prediction does (see docs/benchmarks.md);
 * the handlers, answers, status codes, headers, metrics and log lines are the same either way, and
 * the rarer shapes (gzip, other charsets, escaped names, query strings, the binary tensor extension's
 * requests) keep express's complete handling.
 */
export function createPredictFastLane(
  dependencies: PredictFastLaneDependencies,
  routes: readonly GatewayRoute<RouteDependencies>[] = GATEWAY_ROUTES,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { metrics, logger, maxBodyBytes } = dependencies;
  const lanes = laneRoutes(routes);

  const answerJson = (response: ServerResponse, status: number, body: unknown, requestId: string) => {
    // Encoded once: its length is the buffer's, not a second pass over the string.
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    response.writeHead(status, { 'content-type': JSON_HEADERS, 'content-length': payload.length, [REQUEST_ID_HEADER]: requestId });
    response.end(payload);
  };
  const send = (response: ServerResponse, answer: RouteAnswer, requestId: string) => {
    switch (answer.kind) {
      case 'json':
        answerJson(response, answer.status, answer.body, requestId);
        return;
      case 'framed':
        response.writeHead(answer.status, { 'content-type': BINARY_BODY_CONTENT_TYPE, 'content-length': answer.body.length, [INFERENCE_HEADER_CONTENT_LENGTH]: String(answer.headerLength), [REQUEST_ID_HEADER]: requestId });
        response.end(answer.body);
        return;
      case 'text':
        response.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body), [REQUEST_ID_HEADER]: requestId });
        response.end(answer.body);
        return;
      case 'stream':
        // Streams are express's alone: the lane's routes answer once and observe the request when they do.
        answerJson(response, 500, errorBody('v1', new InfermeshError('INTERNAL', 'a fast-lane route answered with a stream'), requestId), requestId);
    }
  };

  return (request, response) => {
    const { method } = request;
    const url = request.url ?? '';
    let lane: LaneRoute | undefined;
    let path: RegExpExecArray | null = null;
    for (let index = 0; index < lanes.length; index += 1) {
      const candidate = lanes[index]!;
      if (candidate.method !== method) continue;
      path = candidate.pattern.exec(url);
      if (path !== null) {
        lane = candidate;
        break;
      }
    }
    if (lane === undefined || path === null) return false;
    const { headers } = request;
    if (!lane.body.laneReads(headers['content-type'])) return false;
    // The binary tensor data extension's framing is express's to read.
    if (headers[INFERENCE_HEADER_CONTENT_LENGTH] !== undefined) return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    // A request without a body (neither length nor chunks) is express's to refuse.
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return false;

    const { route, body: bodyKind } = lane;
    const started = dependencies.elapsed();
    const call = new LaneCall(resolveRequestId(headers[REQUEST_ID_HEADER]), lane, path, request, dependencies);
    const { requestId } = call;
    let status = 200;
    const observe = (errorCode: string | undefined) =>
      observeRequest(metrics, logger, { requestId, method: route.method, route: route.path, model: call.modelLabel, status, errorCode, durationMs: dependencies.elapsed() - started });
    const fail = (thrown: unknown) => {
      const { status: errorStatus, error } = toErrorResponse(thrown);
      if (errorStatus >= 500 && error.code === 'INTERNAL') logger.error({ requestId, err: thrown }, 'unexpected error');
      status = errorStatus;
      if (!response.headersSent) answerJson(response, errorStatus, errorBody(route.errors, error, requestId), requestId);
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
      call.bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let answer: RouteAnswer | Promise<RouteAnswer>;
      try {
        if (bodyKind.parsedFirst) call.body();
        answer = route.handle(call, dependencies);
      } catch (error) {
        fail(error);
        return;
      }
      Promise.resolve(answer).then((result) => {
        status = result.status;
        send(response, result, requestId);
        observe(undefined);
      }, fail);
    });
    return true;
  };
}

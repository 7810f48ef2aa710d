import type { ServedModel } from '../models/served-model.js';
import type { BodyKind, LaneBodyKind } from './body-kinds.js';
import type { ErrorFlavour } from './error-body.js';

/** The HTTP methods the gateway's routes answer. */
export type RouteMethod = 'GET' | 'POST' | 'PUT';

/**
 * One request as a route handler sees it, whichever transport serves it (the fast lane or
 * express): handlers are written once against this, never against node:http or express.
 */
export interface RouteCall {
  /** The request's correlation id (the client's x-request-id, or a new one). */
  readonly requestId: string;
  /** A path parameter by name: `model` for `:model`. */
  param(name: string): string;
  /** The model the path names, labelled on the request's metrics and log line; MODEL_NOT_FOUND if none is configured. */
  model(): ServedModel;
  /** The body as the route's body kind reads it; throws the client error for a body it refuses. */
  body(): unknown;
  /** A request header. */
  header(name: string): string | undefined;
  /** A query parameter of the URL (the first, if repeated). */
  query(name: string): string | undefined;
}

/** The open end of a streaming answer: what a route writes to while its client listens. */
export interface AnswerStream {
  /** Writes a chunk now (no buffering until the end). */
  write(chunk: string): void;
  /** Ends the answer; the connection is then free. */
  end(): void;
  /** Calls `listener` once when the client goes away or the answer ends. */
  onClose(listener: () => void): void;
}

/**
 * What a route answers: JSON, the binary tensor extension's framing, text of a given type, or a
 * stream the route keeps writing to (Server-Sent Events; express only: no fast-lane route streams).
 */
export type RouteAnswer =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'framed'; status: number; body: Buffer; headerLength: number }
  | { kind: 'text'; status: number; body: string; contentType: string }
  | { kind: 'stream'; status: number; contentType: string; open(stream: AnswerStream): void };

/** A JSON answer. */
export const jsonAnswer = (status: number, body: unknown): RouteAnswer => ({ kind: 'json', status, body });

interface RouteShape<Dependencies> {
  method: RouteMethod;
  /** Express-style pattern (`/v2/models/:model/infer`); also the route label of metrics and logs. */
  path: string;
  /** Which error body the route answers with: v1 (`{error: {code, message, details}, requestId}`) or the Open Inference v2 one. */
  errors: ErrorFlavour;
  handle(call: RouteCall, dependencies: Dependencies): RouteAnswer | Promise<RouteAnswer>;
  /** Headers set on every answer of the route, its errors included (the dashboard's Content-Security-Policy). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * One route of the gateway's HTTP API, declared once: both the express app and the fast lane
 * are built from a table of these. A route the fast lane may serve reads a body the lane can read.
 */
export type GatewayRoute<Dependencies> = RouteShape<Dependencies> &
  ({ fastLane?: false; body?: BodyKind } | { /** The node:http fast lane serves the route's common requests ahead of express. */ fastLane: true; body: LaneBodyKind });

/** `POST /v1/feedback`: how tests and logs name a route. */
export const routeName = (route: Pick<GatewayRoute<unknown>, 'method' | 'path'>): string => `${route.method} ${route.path}`;

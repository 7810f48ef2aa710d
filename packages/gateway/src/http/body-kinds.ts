import type { IncomingMessage } from 'node:http';
import express, { type Request, type RequestHandler } from 'express';
import { InfermeshError } from '@infermesh/shared';
import { BINARY_BODY_CONTENT_TYPE, INFERENCE_HEADER_CONTENT_LENGTH, parseInferBody } from '../predict/binary-tensor-extension.js';

/** How a route's request body is read, on each transport that may serve the route. */
export interface BodyKind {
  /** Where express's parser for this kind runs: on every request ahead of the routes ('app'), or on the route only, ahead of the app's parsers ('route'). */
  parserScope: 'app' | 'route';
  /** Express: the middleware that reads the bytes (inflating gzip/deflate, 413 beyond `maxBodyBytes`). */
  expressParser(maxBodyBytes: number): RequestHandler;
  /** Express: the body after the route's Content-Type rules; throws UNSUPPORTED_MEDIA_TYPE for a body it refuses. */
  fromExpress(request: Request): unknown;
}

/** A body kind the fast lane reads too. */
export interface LaneBodyKind extends BodyKind {
  /** Whether the lane reads a body of this Content-Type (undefined: none sent); express takes the others. */
  laneReads(contentType: string | undefined): boolean;
  /** The lane: the body's bytes as the route reads them; throws the client error for a malformed one. */
  fromBytes(bytes: Buffer): unknown;
  /**
   * Whether the body is parsed before the handler runs, so a malformed one is refused before the
   * model is looked up: on express the app-wide JSON parser runs ahead of every route.
   */
  parsedFirst: boolean;
}

/** Media types read as JSON. */
const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];

/** JSON media types the lane reads; a charset other than UTF-8, or any other parameter, goes to express. */
const PLAIN_JSON_CONTENT_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * A JSON body (the v1 API). Express reads it app-wide, so a malformed or oversized JSON body is
 * refused on any path, before the routes; a route that takes one then requires the JSON media type.
 */
export const JSON_BODY: LaneBodyKind = {
  parserScope: 'app',
  expressParser: (maxBodyBytes) => express.json({ limit: maxBodyBytes, strict: false, type: JSON_MEDIA_TYPES }),
  fromExpress(request) {
    if (!request.is(JSON_MEDIA_TYPES)) throw new InfermeshError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    return request.body as unknown;
  },
  laneReads: (contentType) => contentType !== undefined && PLAIN_JSON_CONTENT_TYPE.test(contentType),
  fromBytes(bytes) {
    const text = bytes.toString('utf8');
    try {
      // As express.json does: an empty body is an empty object, which validation then refuses by name.
      return text.length === 0 ? {} : (JSON.parse(text) as unknown);
    } catch (error) {
      throw new InfermeshError('MALFORMED_JSON', `request body is not valid JSON: ${(error as Error).message}`);
    }
  },
  parsedFirst: true,
};

type InferMediaKind = 'json' | 'binary' | 'other';

/**
 * What a v2 inference body's Content-Type allows. None at all is JSON, as Triton and KServe
 * read it (Triton's HTTP client sends none); application/octet-stream is the binary tensor
 * data extension, which the Inference-Header-Content-Length header then frames.
 */
function inferMediaKind(request: IncomingMessage): InferMediaKind {
  const mediaType = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === '' || mediaType === 'application/json' || /^application\/[^/]+\+json$/.test(mediaType)) return 'json';
  if (mediaType === BINARY_BODY_CONTENT_TYPE) return 'binary';
  return 'other';
}

const CHARSET_PARAMETER = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * An Open Inference Protocol v2 inference body: JSON, or JSON followed by binary tensor data.
 * Express reads it as bytes on its route, ahead of the app's JSON parser (which then leaves it
 * alone); the JSON is parsed once the route found its model.
 */
export const INFER_BODY: LaneBodyKind = {
  parserScope: 'route',
  expressParser: (maxBodyBytes) => express.raw({ limit: maxBodyBytes, type: (request) => inferMediaKind(request) !== 'other' }),
  fromExpress(request) {
    const kind = inferMediaKind(request);
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
  },
  // Without Content-Type too: that is JSON here. The extension's framed requests are express's (the lane refuses them by their header).
  laneReads: (contentType) => contentType === undefined || PLAIN_JSON_CONTENT_TYPE.test(contentType),
  fromBytes: (bytes) => parseInferBody(bytes, undefined),
  parsedFirst: false,
};

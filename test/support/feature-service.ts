import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Modes a held request can be answered in by {@link FeatureService.release}. */
export type ReleaseMode = 'normal' | 'error';

/**
 * How the feature service answers: `normal` serves the entity's features (404 for an unknown
 * id); `error` answers 500; `close` destroys the connection without answering; `non-json`
 * answers 200 with HTML; `hold` keeps every request open until `release()`; `{ delayMs }`
 * answers normally after that many milliseconds; `{ hugeBytes }` answers 200 with that
 * Content-Length and streams filler until done or the client hangs up; `endless` answers
 * 200 chunked (no Content-Length) and streams filler until the client hangs up. Both
 * streaming modes write only as fast as the client reads (they wait for `drain`), so
 * {@link FeatureService.bodyBytesSent} is what the client's socket accepted, not what piled up here.
 */
export type FeatureServiceMode = ReleaseMode | 'close' | 'non-json' | 'hold' | 'endless' | { delayMs: number } | { hugeBytes: number };

/** A running feature service on 127.0.0.1. */
export interface FeatureService {
  /** Base URL without a trailing slash; any path whose last segment is an entity id serves it, e.g. `${url}/users/u1`. */
  url: string;
  setMode(mode: FeatureServiceMode): void;
  /** Requests received so far, answered or not. */
  requests(): number;
  /** Requests received and not yet answered or abandoned. */
  inFlight(): number;
  /** The most requests ever in flight at once. */
  maxInFlight(): number;
  /** Responses whose connection closed before the whole response was sent (the client hung up, or `close` mode). */
  abandoned(): number;
  /** Body bytes the streaming modes handed to the socket, all responses together. */
  bodyBytesSent(): number;
  /** Raw request paths received, in order (to check URL encoding). */
  paths(): string[];
  /** Answers every held request, normally or with a 500. */
  release(as?: ReleaseMode): void;
  /** Stops listening and drops every connection, held or delayed requests included. */
  close(): Promise<void>;
}

/** Size of one write in the streaming modes, bytes. */
const STREAM_CHUNK_BYTES = 64 * 1024;

/** Starts an HTTP feature service serving `features[id]` as JSON for `GET /.../{id}`, on a free port. */
export async function startFeatureService(features: Record<string, object>): Promise<FeatureService> {
  let mode: FeatureServiceMode = 'normal';
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let abandoned = 0;
  let bodyBytesSent = 0;
  const paths: string[] = [];
  const held: ((as: ReleaseMode) => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (request: IncomingMessage, response: ServerResponse) => {
    if (response.destroyed) return;
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const id = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    const body = Object.hasOwn(features, id) ? features[id] : undefined;
    if (body === undefined) response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown entity"}');
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const fail = (response: ServerResponse) => {
    if (!response.destroyed) response.writeHead(500, { 'content-type': 'text/plain' }).end('feature store exploded');
  };

  /** Writes filler until `total` bytes (or forever) at the pace the client reads. */
  const stream = (response: ServerResponse, total: number) => {
    response.writeHead(200, { 'content-type': 'application/json', ...(Number.isFinite(total) ? { 'content-length': String(total) } : {}) });
    const filler = Buffer.alloc(STREAM_CHUNK_BYTES, 0x20);
    let remaining = total;
    const pump = () => {
      while (!response.destroyed && remaining > 0) {
        const chunk = remaining >= filler.length ? filler : filler.subarray(0, remaining);
        remaining -= chunk.length;
        bodyBytesSent += chunk.length;
        if (remaining === 0) return void response.end(chunk);
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
    };
    pump();
  };

  const server = createServer((request, response) => {
    requests += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    paths.push(request.url ?? '');
    // 'close' fires once the response is finished or the client gave up (timeout), so the
    // in-flight count shows what the client is still waiting for.
    response.once('close', () => {
      inFlight -= 1;
      if (!response.writableFinished) abandoned += 1;
    });
    if (mode === 'normal') answer(request, response);
    else if (mode === 'error') fail(response);
    else if (mode === 'close') request.socket.destroy();
    else if (mode === 'non-json') response.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    else if (mode === 'hold') held.push((as) => (as === 'error' ? fail(response) : answer(request, response)));
    else if (mode === 'endless') stream(response, Number.POSITIVE_INFINITY);
    else if ('hugeBytes' in mode) stream(response, mode.hugeBytes);
    else {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(request, response);
      }, mode.delayMs);
      timers.add(timer);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setMode: (next) => (mode = next),
    requests: () => requests,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    abandoned: () => abandoned,
    bodyBytesSent: () => bodyBytesSent,
    paths: () => [...paths],
    release: (as = 'normal') => held.splice(0).forEach((respond) => respond(as)),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      held.length = 0;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL nothing listens on (a port that was just free), for "source down" tests. */
export async function unusedLocalUrl(): Promise<string> {
  const service = await startFeatureService({});
  await service.close();
  return service.url;
}

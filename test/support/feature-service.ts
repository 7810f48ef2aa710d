import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the feature service answers: `normal` serves the entity's features (404 for an unknown
 * id); `error` answers 500; `close` destroys the connection without answering; `non-json`
 * answers 200 with HTML; `hold` keeps every request open until `release()`; `{ delayMs }`
 * answers normally after that many milliseconds.
 */
export type FeatureServiceMode = 'normal' | 'error' | 'close' | 'non-json' | 'hold' | { delayMs: number };

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
  /** Raw request paths received, in order (to check URL encoding). */
  paths(): string[];
  /** Answers every held request normally. */
  release(): void;
  /** Stops listening and drops every connection, held or delayed requests included. */
  close(): Promise<void>;
}

/** Starts an HTTP feature service serving `features[id]` as JSON for `GET /.../{id}`, on a free port. */
export async function startFeatureService(features: Record<string, object>): Promise<FeatureService> {
  let mode: FeatureServiceMode = 'normal';
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const paths: string[] = [];
  const held: (() => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (request: IncomingMessage, response: ServerResponse) => {
    if (response.destroyed) return;
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const id = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    const body = Object.hasOwn(features, id) ? features[id] : undefined;
    if (body === undefined) response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown entity"}');
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer((request, response) => {
    requests += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    paths.push(request.url ?? '');
    // 'close' fires once the response is finished or the client gave up (timeout), so the
    // in-flight count shows what the client is still waiting for.
    response.once('close', () => (inFlight -= 1));
    if (mode === 'normal') answer(request, response);
    else if (mode === 'error') response.writeHead(500, { 'content-type': 'text/plain' }).end('feature store exploded');
    else if (mode === 'close') request.socket.destroy();
    else if (mode === 'non-json') response.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    else if (mode === 'hold') held.push(() => answer(request, response));
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
    paths: () => [...paths],
    release: () => held.splice(0).forEach((respond) => respond()),
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

import { startLoops, type Loops } from './concurrent-loops.js';

/** One HTTP request of a load run. */
export interface HttpCall {
  status: number;
  body: string;
}

/** A running HTTP load: `stop()` ends it and returns every call. */
export type HttpLoad = Loops<HttpCall>;

/** Runs `callers` concurrent POST loops of `body` to `url` until stopped; network errors are recorded as status 0. */
export function startHttpLoad(url: string, body: object, callers: number): HttpLoad {
  const payload = JSON.stringify(body);
  return startLoops(callers, async () => {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      return { status: 0, body: (error as Error).message };
    }
  });
}

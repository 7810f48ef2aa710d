/** One HTTP request of a load run. */
export interface HttpCall {
  status: number;
  body: string;
}

/** A running HTTP load: `stop()` ends it and returns every call. */
export interface HttpLoad {
  readonly calls: HttpCall[];
  stop(): Promise<HttpCall[]>;
}

/** Runs `callers` concurrent POST loops of `body` to `url` until stopped; network errors are recorded as status 0. */
export function startHttpLoad(url: string, body: object, callers: number): HttpLoad {
  const calls: HttpCall[] = [];
  let running = true;
  const payload = JSON.stringify(body);
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
        calls.push({ status: response.status, body: await response.text() });
      } catch (error) {
        calls.push({ status: 0, body: (error as Error).message });
      }
    }
  });
  return {
    calls,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return calls;
    },
  };
}

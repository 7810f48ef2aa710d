/** Records of a running set of loops: `stop()` ends them and returns every record, in issue order. */
export interface Loops<Record> {
  readonly calls: Record[];
  stop(): Promise<Record[]>;
}

/**
 * Runs `callers` concurrent loops of `call(seq)` until stopped: the steady traffic the load
 * helpers generate. `seq` is the issue order across all loops; records keep completion order
 * in `calls` and issue order in what `stop()` returns.
 */
export function startLoops<Record>(callers: number, call: (seq: number) => Promise<Record>): Loops<Record> {
  const calls: Record[] = [];
  const issued = new Map<Record, number>();
  let seq = 0;
  let running = true;
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      const order = seq++;
      const record = await call(order);
      issued.set(record, order);
      calls.push(record);
    }
  });
  return {
    calls,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return [...calls].sort((a, b) => issued.get(a)! - issued.get(b)!);
    },
  };
}

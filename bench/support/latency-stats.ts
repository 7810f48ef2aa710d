/** Latency summary of one measured series, in milliseconds. */
export interface LatencyStats {
  calls: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  throughputPerSecond: number;
}

/** Percentiles and throughput of call durations measured over `wallMs`. */
export function latencyStats(durationsMs: number[], wallMs: number): LatencyStats {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const at = (quantile: number) => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? NaN;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    calls: sorted.length,
    p50Ms: round(at(0.5)),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
    throughputPerSecond: Math.round((sorted.length / wallMs) * 1000),
  };
}

/** Runs `call` `count` times with `concurrency` callers; returns each call's duration. */
export async function measure(count: number, concurrency: number, call: () => Promise<unknown>): Promise<{ durations: number[]; wallMs: number }> {
  const durations: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const callStarted = performance.now();
        await call();
        durations.push(performance.now() - callStarted);
      }
    }),
  );
  return { durations, wallMs: performance.now() - started };
}

/** Reads counters and gauges off a /metrics endpoint (Prometheus text format), summed over label sets. */

/** One scrape: sample lines by metric name. */
export type MetricsScrape = ReadonlyMap<string, { labels: Record<string, string>; value: number }[]>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Fetches and parses `url`; an unreachable endpoint gives an empty scrape (the series then reports no gateway counters). */
export async function scrapeMetrics(url: string): Promise<MetricsScrape> {
  try {
    const response = await fetch(url);
    return parseMetrics(await response.text());
  } catch {
    return new Map();
  }
}

/** Parses Prometheus text exposition into samples by name. */
export function parseMetrics(text: string): MetricsScrape {
  const samples = new Map<string, { labels: Record<string, string>; value: number }[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    samples.set(match[1]!, [...(samples.get(match[1]!) ?? []), { labels, value: Number(match[3]) }]);
  }
  return samples;
}

/** Sum of a metric's samples whose labels include `where`; undefined when the metric is absent. */
export function sumOf(scrape: MetricsScrape, name: string, where: Record<string, string> = {}): number | undefined {
  const samples = scrape.get(name);
  if (samples === undefined) return undefined;
  return samples.filter((sample) => Object.entries(where).every(([key, value]) => sample.labels[key] === value)).reduce((sum, sample) => sum + sample.value, 0);
}

import { DEMO_FEATURES } from '../demo/demo-models.js';

/** What a simulation run needs. */
export interface SimulationOptions {
  gatewayUrl: string;
  model: string;
  /** Probability that a user rewards (clicks, converts) an answer of each variant. */
  rates: ReadonlyMap<string, number>;
  /** Distinct simulated users: sticky assignment keeps each on one variant. */
  users: number;
  /** Requests per second. */
  rate: number;
  /** Stop after this many requests (unlimited when undefined). */
  requests: number | undefined;
  /** Uniform in [0, 1). */
  random: () => number;
}

/** What the users did, per variant. */
export interface SimulationTally {
  requests: number;
  failed: number;
  byVariant: Map<string, { served: number; rewarded: number }>;
}

/**
 * Sends simulated users' predictions at a steady rate and, for each answer, feedback drawn from
 * the serving variant's true reward rate — the loop a newcomer watches the bandit learn from.
 * Stops after `requests`, or when `signal` aborts.
 */
export async function simulateUsers(options: SimulationOptions, signal: AbortSignal, onProgress: (tally: SimulationTally) => void): Promise<SimulationTally> {
  const tally: SimulationTally = { requests: 0, failed: 0, byVariant: new Map() };
  const intervalMs = 1000 / options.rate;
  let next = performance.now();
  const inFlight = new Set<Promise<void>>();
  while (!signal.aborted && (options.requests === undefined || tally.requests < options.requests)) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    next += intervalMs;
    tally.requests += 1;
    const call = oneUser(options, tally).finally(() => inFlight.delete(call));
    inFlight.add(call);
    if (tally.requests % Math.max(1, Math.round(options.rate)) === 0) onProgress(tally);
  }
  await Promise.all(inFlight);
  return tally;
}

async function oneUser(options: SimulationOptions, tally: SimulationTally): Promise<void> {
  const { random } = options;
  const inputs = Object.fromEntries(DEMO_FEATURES.map((feature) => [feature, Math.round(random() * 100) / 100]));
  const userId = `sim-${Math.floor(random() * options.users)}`;
  try {
    const response = await fetch(`${options.gatewayUrl}/v1/models/${options.model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entity: { userId }, inputs }),
    });
    const answer = (await response.json()) as { variant?: string; feedbackToken?: string };
    if (!response.ok || answer.variant === undefined) {
      tally.failed += 1;
      return;
    }
    const counts = tally.byVariant.get(answer.variant) ?? { served: 0, rewarded: 0 };
    tally.byVariant.set(answer.variant, counts);
    counts.served += 1;
    if (answer.feedbackToken === undefined) return;
    const reward = random() < (options.rates.get(answer.variant) ?? 0) ? 1 : 0;
    counts.rewarded += reward;
    await fetch(`${options.gatewayUrl}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ feedbackToken: answer.feedbackToken, reward }),
    });
  } catch {
    tally.failed += 1;
  }
}

/** `a=0.05,b=0.15` → the rate of each variant; throws a message for anything else. */
export function parseRates(text: string): Map<string, number> {
  const rates = new Map<string, number>();
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z0-9._-]+)\s*=\s*([0-9.]+)\s*$/.exec(part);
    const rate = match === null ? Number.NaN : Number(match[2]);
    if (match === null || !(rate >= 0 && rate <= 1)) throw new Error(`--rates must look like a=0.05,b=0.15 (rates in [0, 1]), got '${text}'`);
    rates.set(match[1]!, rate);
  }
  return rates;
}

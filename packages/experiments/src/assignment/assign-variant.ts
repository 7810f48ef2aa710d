/**
 * Which variant a request goes to, from the experiment config and the record the replica
 * holds. Pure: the position of a sticky request is a hash, the rest is arithmetic on the
 * record's layout, so replicas with the same record and config agree to the bit.
 */
import type { ExperimentConfig } from '../config/experiment-config.js';
import type { ExperimentRecord } from '../records/experiment-record.js';
import { bandAt, contiguousLayout, layoutShares, type TrafficLayout } from '../records/traffic-layout.js';
import { seededRandom } from '../policy/random-source.js';
import { pickIndex, warmUpShares } from '../policy/share-plan.js';

/** Which variant answers, with what probability the policy chose it, and whether it sticks. */
export interface Assignment {
  variant: string;
  /** Probability that a request at a uniformly random position gets this variant now: its logged propensity. */
  propensity: number;
  /** True when the entity key was present: the entity keeps the variant while the layout holds. */
  sticky: boolean;
  /** The record routed by; null when the replica holds none and routed by the config's warm-up shares. */
  recordSequence: number | null;
}

/** Who is being assigned. */
export interface AssignmentKey {
  model: string;
  /** The experiment's entity key value; undefined when the request did not carry it. */
  entity: string | undefined;
  /** Milliseconds since the epoch. */
  now: number;
}

/**
 * Picks the live variant for one request: the entity's position (or a random one) against the
 * record's layout. A position in the band of a variant that may not take traffic now (killed,
 * removed, a shadow) is spread over the routable variants in proportion to their widths, so
 * only the entities of that band move. Without a usable record the config's warm-up shares are
 * laid out in the config's order.
 */
export function assignVariant(experiment: ExperimentConfig, record: ExperimentRecord | undefined, key: AssignmentKey, random: () => number): Assignment {
  const routable = experiment.variants.filter((variant) => variant.enabled && variant.role === 'live').map((variant) => variant.name);
  const fromRecord = record !== undefined && routable.some((name) => (layoutShares(record.layout).get(name) ?? 0) > 0);
  const layout = fromRecord ? record.layout : warmUpLayout(experiment, routable);
  const u = key.entity === undefined ? random() : entityPosition(experiment, key.model, key.entity, key.now);
  const { variant, propensity } = pick(layout, new Set(routable), u);
  return { variant, propensity, sticky: key.entity !== undefined, recordSequence: fromRecord ? record.sequence : null };
}

/**
 * The position of an entity in [0, 1) for the stickiness window it is in. Windows are offset
 * per entity (by a second hash), so users are not all reshuffled at the same instant.
 */
export function entityPosition(experiment: Pick<ExperimentConfig, 'entityKey' | 'stickinessSeconds'>, model: string, entity: string, now: number): number {
  const windowMs = experiment.stickinessSeconds * 1000;
  const offset = seededRandom(JSON.stringify(['window-offset', model, experiment.entityKey, entity]))();
  const window = Math.floor(now / windowMs + offset);
  return seededRandom(JSON.stringify([model, experiment.entityKey, entity, window]))();
}

/** The layout a replica routes by when it holds no record: warm-up shares in config order. */
export function warmUpLayout(experiment: ExperimentConfig, routable: readonly string[]): TrafficLayout {
  const live = experiment.variants
    .filter((variant) => routable.includes(variant.name))
    .map((variant) => ({ name: variant.name, enabled: true, role: 'live' as const, ...(variant.weight === undefined ? {} : { weight: variant.weight }), stats: { trials: 0, rewardSum: 0, rewardSumSquares: 0 } }));
  const shares = warmUpShares(experiment.policy, live);
  return contiguousLayout(live.map((variant, index) => [variant.name, shares[index]!] as const));
}

/** Each routable variant's effective share under `layout` (what {@link assignVariant} gives it). */
export function effectiveShares(layout: TrafficLayout, routable: ReadonlySet<string>): Map<string, number> {
  const widths = layoutShares(layout);
  const total = [...routable].reduce((sum, name) => sum + (widths.get(name) ?? 0), 0);
  return new Map([...routable].map((name) => [name, total > 0 ? (widths.get(name) ?? 0) / total : 0]));
}

function pick(layout: TrafficLayout, routable: ReadonlySet<string>, u: number): { variant: string; propensity: number } {
  const shares = effectiveShares(layout, routable);
  const band = bandAt(layout, u);
  if (routable.has(band.variant) && shares.get(band.variant)! > 0) return { variant: band.variant, propensity: shares.get(band.variant)! };
  // Spread this band over the routable variants: the position within the band is uniform too.
  const within = (u - band.start) / (band.end - band.start);
  const names = [...shares.keys()];
  const widths = [...shares.values()];
  const index = pickIndex(widths, within);
  return { variant: names[index]!, propensity: widths[index]! };
}

/**
 * How the unit interval [0, 1) is split among an experiment's variants. A request's position
 * u in [0, 1) (a hash of its entity, or a random draw) goes to the variant whose band holds
 * it. The layout travels inside the published record, so every replica holding the record
 * routes every entity alike, and when shares change the aggregator moves the least traffic
 * it can: {@link relayout} takes bands only from variants that shrink and gives them only to
 * variants that grow, so the fraction of entities that change variant equals the total
 * variation distance between the old and new shares — whatever the number of variants.
 * (Cumulative bands in a fixed order would move more: with three variants at 1/3 each going
 * to 0, 1/3, 2/3, two thirds of the entities would move instead of one third.)
 */

/** One band: the variant owning [previous band's end, end); the first band starts at 0, the last ends at 1. */
export type LayoutBand = readonly [variant: string, end: number];

/** Bands in position order, covering [0, 1) exactly. */
export type TrafficLayout = readonly LayoutBand[];

/**
 * Bands a layout may hold before {@link relayout} compacts it to one band per variant (moving
 * more than the minimum once). Each update adds at most a few bands per variant that grows.
 */
export const MAX_LAYOUT_BANDS = 64;

/** Bands narrower than this are rounding noise and are absorbed by a neighbour. */
const NEGLIGIBLE_WIDTH = 1e-12;

interface Segment {
  variant: string;
  start: number;
  end: number;
}

/** One band per variant with a positive share, in the order given. */
export function contiguousLayout(shares: readonly (readonly [string, number])[]): TrafficLayout {
  const positive = shares.filter(([, share]) => share > 0);
  const total = positive.reduce((sum, [, share]) => sum + share, 0);
  let cumulative = 0;
  return withEnds(positive.map(([variant, share]) => [variant, (cumulative += share / total)] as const));
}

/**
 * Bands with strictly increasing ends and the last at exactly 1: a band that rounding left
 * empty (a share too small to move the sum) is dropped, adjacent bands of one variant merge.
 */
function withEnds(bands: readonly LayoutBand[]): LayoutBand[] {
  const result: [string, number][] = [];
  for (const [index, [variant, end]] of bands.entries()) {
    const bounded = index === bands.length - 1 ? 1 : Math.min(1, end);
    const last = result[result.length - 1];
    if (last !== undefined && bounded <= last[1]) continue;
    if (last !== undefined && last[0] === variant) last[1] = bounded;
    else result.push([variant, bounded]);
  }
  const last = result[result.length - 1];
  if (last !== undefined) last[1] = 1;
  return result;
}

/** Each variant's total width in the layout. */
export function layoutShares(layout: TrafficLayout): Map<string, number> {
  const shares = new Map<string, number>();
  for (const segment of segmentsOf(layout)) shares.set(segment.variant, (shares.get(segment.variant) ?? 0) + (segment.end - segment.start));
  return shares;
}

/**
 * The layout for new target shares (variant → share, summing to 1), moving as little as
 * possible from `previous`: shrinking variants give up their smallest bands first (trimming
 * the last one they keep), and the freed space goes to growing variants in position order.
 * Without a previous layout, or when the result would hold more than {@link MAX_LAYOUT_BANDS}
 * bands, the layout is laid out contiguously in `order`.
 */
export function relayout(previous: TrafficLayout | undefined, targets: ReadonlyMap<string, number>, order: readonly string[]): TrafficLayout {
  const ordered = order.filter((variant) => (targets.get(variant) ?? 0) > 0).map((variant) => [variant, targets.get(variant)!] as const);
  if (previous === undefined || previous.length === 0) return contiguousLayout(ordered);
  const total = ordered.reduce((sum, [, share]) => sum + share, 0);
  const target = new Map(ordered.map(([variant, share]) => [variant, share / total]));
  const current = layoutShares(previous);

  const kept: Segment[] = [];
  const gaps: Segment[] = [];
  const byVariant = new Map<string, Segment[]>();
  for (const segment of segmentsOf(previous)) byVariant.set(segment.variant, [...(byVariant.get(segment.variant) ?? []), segment]);
  for (const [variant, segments] of byVariant) {
    let excess = (current.get(variant) ?? 0) - (target.get(variant) ?? 0);
    // Smallest bands first: giving up whole bands keeps the layout from fragmenting.
    const smallestFirst = [...segments].sort((a, b) => a.end - a.start - (b.end - b.start) || a.start - b.start);
    for (const segment of smallestFirst) {
      const width = segment.end - segment.start;
      if (excess <= NEGLIGIBLE_WIDTH) kept.push(segment);
      else if (width <= excess + NEGLIGIBLE_WIDTH) {
        gaps.push({ ...segment, variant: '' });
        excess -= width;
      } else {
        const cut = segment.end - excess;
        kept.push({ variant, start: segment.start, end: cut });
        gaps.push({ variant: '', start: cut, end: segment.end });
        excess = 0;
      }
    }
  }

  const needs = ordered.map(([variant]) => ({ variant, need: (target.get(variant) ?? 0) - (current.get(variant) ?? 0) })).filter((entry) => entry.need > NEGLIGIBLE_WIDTH);
  gaps.sort((a, b) => a.start - b.start);
  // Freed width equals needed width up to rounding; the last grower absorbs the difference.
  const lastVariant = needs[needs.length - 1]?.variant ?? ordered[ordered.length - 1]![0];
  let needIndex = 0;
  for (const gap of gaps) {
    let start = gap.start;
    while (start < gap.end) {
      const isLast = needIndex >= needs.length - 1;
      const entry = needs[needIndex];
      const variant = entry?.variant ?? lastVariant;
      const end = isLast || entry === undefined || entry.need >= gap.end - start - NEGLIGIBLE_WIDTH ? gap.end : start + entry.need;
      kept.push({ variant, start, end });
      if (entry !== undefined) entry.need -= end - start;
      start = end;
      if (!isLast && entry !== undefined && entry.need <= NEGLIGIBLE_WIDTH) needIndex += 1;
    }
  }

  const merged = mergeSegments(kept.sort((a, b) => a.start - b.start));
  if (merged.length > MAX_LAYOUT_BANDS) return contiguousLayout(ordered);
  return withEnds(merged.map((segment) => [segment.variant, segment.end] as const));
}

/** The band holding `u` and the segment's bounds. */
export function bandAt(layout: TrafficLayout, u: number): { variant: string; start: number; end: number } {
  let low = 0;
  let high = layout.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (u < layout[middle]![1]) high = middle;
    else low = middle + 1;
  }
  return { variant: layout[low]![0], start: low === 0 ? 0 : layout[low - 1]![1], end: layout[low]![1] };
}

/** Throws a description of the first problem unless bands are non-empty, increasing and end at exactly 1. */
export function checkLayout(layout: TrafficLayout): void {
  if (layout.length === 0) throw new RangeError('the layout has no band');
  let previous = 0;
  for (const [variant, end] of layout) {
    if (typeof variant !== 'string' || variant === '') throw new RangeError('a band has no variant');
    if (!(end > previous && end <= 1)) throw new RangeError(`band of ${variant} ends at ${end}, not after ${previous} and within 1`);
    previous = end;
  }
  if (previous !== 1) throw new RangeError(`the last band ends at ${previous}, not 1`);
}

function segmentsOf(layout: TrafficLayout): Segment[] {
  let start = 0;
  return layout.map(([variant, end]) => {
    const segment = { variant, start, end };
    start = end;
    return segment;
  });
}

function mergeSegments(sorted: readonly Segment[]): Segment[] {
  const merged: Segment[] = [];
  for (const segment of sorted) {
    if (segment.end - segment.start <= NEGLIGIBLE_WIDTH && merged.length > 0) {
      merged[merged.length - 1]!.end = segment.end;
      continue;
    }
    const last = merged[merged.length - 1];
    if (last !== undefined && last.variant === segment.variant) last.end = segment.end;
    else merged.push({ ...segment });
  }
  return merged;
}

/** Shown for a value the gateway did not report (an older aggregator, no data yet). */
export const ABSENT = '—';

/** A count: whole numbers as such, discounted (fractional) ones with one decimal. */
export function formatCount(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return ABSENT;
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** A probability or share as a percentage with one decimal. */
export function formatPercent(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return ABSENT;
  return `${(value * 100).toFixed(1)} %`;
}

/** A reward-scale number with four significant digits. */
export function formatNumber(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return ABSENT;
  if (value !== 0 && Math.abs(value) < 1e-4) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

/** Milliseconds as a short age: 850 ms, 12 s, 3 min, 2 h. */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/** Epoch milliseconds as local time. */
export function formatTime(epochMs: number | null | undefined): string {
  if (typeof epochMs !== 'number' || !Number.isFinite(epochMs)) return ABSENT;
  return new Date(epochMs).toLocaleString();
}

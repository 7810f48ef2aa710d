import type { ConclusionView, ExperimentView, VariantView } from './api-client.js';
import { el, type Child } from './dom.js';
import { ABSENT, formatCount, formatNumber, formatPercent, formatTime } from './format.js';
import { commonRange, credibleInterval, densityOf, expectedLosses, sample, type Density } from './posterior-density.js';
import { lineChart } from './svg-chart.js';

/** Marks a value the browser estimated because the gateway did not report it. */
const ESTIMATED_TITLE = 'estimated in the browser from the posterior: this gateway does not report it';

/** Shares over time, one entry per record seen (from the history API and the live stream). */
export interface SharePoint {
  t: number;
  sequence: number;
  shares: Record<string, number>;
}

/** A number cell: the shown text, the raw value for machines (`data-value`), and whether it is an estimate. */
function numberCell(field: string, value: number | null | undefined, text: string, estimated = false): HTMLTableCellElement {
  const attrs: Record<string, string> = { 'data-field': field };
  if (typeof value === 'number') attrs['data-value'] = String(value);
  if (estimated) {
    attrs.title = ESTIMATED_TITLE;
    attrs['data-estimated'] = 'true';
  }
  return el('td', { class: estimated ? 'num estimated' : 'num', attrs }, [estimated && text !== ABSENT ? `≈ ${text}` : text]);
}

function textCell(field: string, text: string, extraClass = ''): HTMLTableCellElement {
  return el('td', { class: extraClass, attrs: { 'data-field': field }, text });
}

/** The density each live variant's posterior implies, or undefined without one. */
export function densitiesOf(view: ExperimentView): Map<string, Density> {
  const densities = new Map<string, Density>();
  for (const variant of view.variants) if (variant.role === 'live' && variant.posterior) densities.set(variant.name, densityOf(variant.posterior));
  return densities;
}

/** What the kill switch says about a variant. */
function killSwitchText(variant: VariantView): string {
  if (variant.role === 'shadow') return variant.enabled ? 'shadow' : 'shadow, off';
  return variant.enabled ? 'on' : 'off (killed)';
}

/** What a variant's guardrail says: tripped (with the measure), passing (with what was measured), or unknown. */
export function guardrailText(variant: VariantView): string {
  const guardrail = variant.guardrail;
  if (guardrail) return `${guardrail.dryRun ? 'would trip' : 'tripped'}: ${guardrail.metric} ${formatNumber(guardrail.value)} > ${formatNumber(guardrail.max)}`;
  const measured = variant.measured;
  if (measured) return `ok (${formatCount(measured.errors)} errors, ${formatCount(measured.defaults)} defaults, p99 ${measured.p99LatencyMs === null ? ABSENT : `${formatNumber(measured.p99LatencyMs)} ms`})`;
  return ABSENT;
}

/** The variants table: one row per variant, each number also as `data-value`. */
export function variantsTable(view: ExperimentView, colourOf: (name: string) => number, onToggle: (variant: VariantView) => void): HTMLTableElement {
  const densities = densitiesOf(view);
  const liveDensities = [...densities.entries()].filter(([name]) => view.variants.find((variant) => variant.name === name)?.enabled);
  const losses = expectedLosses(liveDensities.map(([, density]) => density));
  const estimatedLoss = new Map(liveDensities.map(([name], i) => [name, losses[i]!]));
  const head = ['Variant', 'Share', 'Trials', 'Rewards', 'Mean reward', '95 % interval', 'P(best)', 'Expected loss', 'Version', 'Deployment', 'Healthy workers', 'Guardrail', 'Kill switch'];
  const rows = view.variants.map((variant) => {
    const density = densities.get(variant.name);
    const mean = variant.mean ?? variant.posteriorMean ?? null;
    const interval = variant.interval ?? undefined;
    const estimatedInterval = interval === undefined && density !== undefined ? credibleInterval(density) : undefined;
    const shownInterval = interval ?? estimatedInterval;
    const loss = variant.expectedLoss ?? undefined;
    const lossEstimate = loss === undefined ? estimatedLoss.get(variant.name) : undefined;
    const toggle = el('button', { class: variant.enabled ? 'danger' : '', text: variant.enabled ? 'Disable' : 'Enable', attrs: { type: 'button', 'data-action': 'toggle' } });
    toggle.addEventListener('click', () => onToggle(variant));
    const healthy = typeof variant.healthyWorkers === 'number' ? `${variant.healthyWorkers}${typeof variant.workers === 'number' ? ` / ${variant.workers}` : ''}` : ABSENT;
    return el('tr', { class: variant.enabled ? '' : 'disabled', attrs: { 'data-variant': variant.name } }, [
      el('td', { attrs: { 'data-field': 'name' } }, [el('span', { class: `swatch series-${colourOf(variant.name)}` }), variant.name, variant.role === 'shadow' ? el('span', { class: 'tag', text: 'shadow' }) : null]),
      numberCell('share', variant.share, formatPercent(variant.share)),
      numberCell('trials', variant.trials, formatCount(variant.trials)),
      numberCell('rewards', variant.rewards, formatCount(variant.rewards)),
      numberCell('mean', mean, formatNumber(mean)),
      el('td', { class: `num${interval === undefined && shownInterval !== undefined ? ' estimated' : ''}`, attrs: { 'data-field': 'interval', ...(interval === undefined && shownInterval !== undefined ? { title: ESTIMATED_TITLE, 'data-estimated': 'true' } : {}) } }, [
        shownInterval === undefined ? ABSENT : `${interval === undefined ? '≈ ' : ''}[${formatNumber(shownInterval[0])}, ${formatNumber(shownInterval[1])}]`,
      ]),
      numberCell('probabilityBest', variant.probabilityBest, formatPercent(variant.probabilityBest)),
      numberCell('expectedLoss', loss ?? lossEstimate, formatNumber(loss ?? lossEstimate), loss === undefined && lossEstimate !== undefined),
      textCell('version', variant.version ?? ABSENT),
      textCell('deployment', variant.deployment ?? ABSENT),
      numberCell('healthyWorkers', variant.healthyWorkers ?? null, healthy),
      textCell('guardrail', guardrailText(variant), variant.guardrail ? (variant.guardrail.dryRun ? 'warn' : 'bad') : ''),
      el('td', { class: 'kill-switch' }, [el('span', { class: variant.enabled ? 'good' : 'bad', attrs: { 'data-field': 'killSwitch' }, text: killSwitchText(variant) }), toggle]),
    ]);
  });
  return el('table', { class: 'variants', attrs: { id: 'variants' } }, [
    el('thead', {}, [el('tr', {}, head.map((title) => el('th', { text: title })))]),
    el('tbody', {}, rows),
  ]);
}

/** The conclusion as one line: running, pending, concluded or a dry run's verdict. */
export function conclusionText(conclusion: ConclusionView | null | undefined): string {
  if (!conclusion) return 'running (not concluded)';
  const promoted = conclusion.promoted ? `; ${conclusion.promoted.version} → ${conclusion.promoted.deployment} (${conclusion.promotion ?? ABSENT})` : '';
  const evidence = conclusion.evidence ? `; evidence: record ${conclusion.evidence.sequence}, P(best) ${formatPercent(conclusion.evidence.probabilityBest)}, expected loss ${formatNumber(conclusion.evidence.expectedLoss)}` : '';
  switch (conclusion.state) {
    case 'concluded':
      return `concluded: ${conclusion.winner} won (${conclusion.by ?? ABSENT}, ${formatTime(conclusion.at)})${promoted}${evidence}`;
    case 'pending':
      return `pending: ${conclusion.winner} meets the rule since ${formatTime(conclusion.since)}${evidence}`;
    case 'would_conclude':
      return `dry run: would conclude with ${conclusion.winner}${evidence}`;
    default:
      return `${conclusion.state}: ${conclusion.winner}`;
  }
}

/** Traffic share per variant over time, as steps (a share holds until the next record). */
export function sharesChart(points: readonly SharePoint[], names: readonly string[], colourOf: (name: string) => number): Child {
  if (points.length === 0) return el('p', { class: 'muted', text: 'no history yet' });
  const series = names.map((name) => ({ name, colour: colourOf(name), x: points.map((point) => point.t), y: points.map((point) => point.shares[name] ?? 0) }));
  const short = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: points.length > 1 && points[points.length - 1]!.t - points[0]!.t < 600_000 ? '2-digit' : undefined });
  return lineChart({ title: 'Traffic share over time', series, steps: true, yRange: [0, 1], formatX: short, formatY: (y) => `${Math.round(y * 100)} %` });
}

/** The posterior densities of the live variants' mean rewards, on one chart. */
export function densityChart(view: ExperimentView, colourOf: (name: string) => number): Child {
  const densities = densitiesOf(view);
  if (densities.size === 0) return el('p', { class: 'muted', text: 'no posterior reported' });
  const range = commonRange([...densities.values()]);
  const series = [...densities.entries()].map(([name, density]) => ({ name, colour: colourOf(name), ...sample(density, range) }));
  return lineChart({ title: 'Posterior of the mean reward', series, formatX: formatNumber, formatY: formatNumber });
}

/** The chart legend: a swatch and a name per variant. */
export function legend(names: readonly string[], colourOf: (name: string) => number): HTMLElement {
  return el('ul', { class: 'legend' }, names.map((name) => el('li', {}, [el('span', { class: `swatch series-${colourOf(name)}` }), name])));
}

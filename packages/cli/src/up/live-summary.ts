/** Milliseconds between two looks at the experiment. */
export const SUMMARY_INTERVAL_MS = 1_000;
/** Without a terminal to redraw in place, a summary line every this many looks. */
const PLAIN_LINE_EVERY = 10;

interface ExperimentView {
  record: { sequence: number; ageSeconds: number } | null;
  variants: { name: string; role: string; enabled: boolean; trials: number; rewards: number; share: number; probabilityBest: number }[];
}

/** One line about the experiment: trials and rewards, traffic share and P(best) per variant, the record routed by. */
export function summaryLine(view: ExperimentView): string {
  const live = view.variants.filter((variant) => variant.role === 'live');
  const trials = live.reduce((sum, variant) => sum + variant.trials, 0);
  const parts = live.map((variant) => {
    const rate = variant.trials > 0 ? ` ${((100 * variant.rewards) / variant.trials).toFixed(1)}% reward` : '';
    const off = variant.enabled ? '' : ' (off)';
    return `${variant.name}${off} ${(100 * variant.share).toFixed(1)}% traffic, P(best) ${variant.probabilityBest.toFixed(2)}${rate}`;
  });
  const record = view.record === null ? 'no record yet (warm-up weights)' : `record #${view.record.sequence}`;
  return `${Math.round(trials).toLocaleString('en-US')} predictions counted · ${parts.join(' · ')} · ${record}`;
}

/**
 * Prints the demo experiment's line every second while the mesh runs: redrawn in place on a
 * terminal, every ten seconds as a plain line otherwise (logs, CI). Returns a stop function.
 */
export function startLiveSummary(experimentUrl: string, output: NodeJS.WriteStream = process.stdout): () => void {
  let looks = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    looks += 1;
    fetch(experimentUrl)
      .then(async (response) => (response.ok ? summaryLine((await response.json()) as ExperimentView) : `experiment unavailable (HTTP ${response.status})`))
      .catch(() => 'gateway not answering')
      .then((line) => {
        if (output.isTTY) output.write(`\r\u001b[2K${line}`);
        else if (looks % PLAIN_LINE_EVERY === 0) output.write(`${line}\n`);
      })
      .finally(() => (busy = false));
  }, SUMMARY_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (output.isTTY) output.write('\n');
  };
}

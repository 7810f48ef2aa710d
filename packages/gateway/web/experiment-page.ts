import { setConnection } from './connection-badge.js';
import { api, ApiError, type ConclusionView, type ExperimentView, type HistoryView, type VariantView } from './api-client.js';
import { el, replaceChildren } from './dom.js';
import { conclusionText, densityChart, legend, sharesChart, variantsTable, type SharePoint } from './experiment-view.js';
import { ABSENT, formatAge, formatTime } from './format.js';
import { SERIES_COLOURS } from './svg-chart.js';

/** Milliseconds between reads of the history (its points are a minute apart). */
const HISTORY_REFRESH_MS = 60_000;
/** Milliseconds before a stream the browser gave up on is opened again. */
const RECONNECT_MS = 2_000;
/** Share points kept from the live stream on top of the history. */
const MAX_LIVE_POINTS = 2_000;

/**
 * One model's page: the summary, the charts, the variants and the admin actions, kept live by
 * the experiment stream. The admin token lives in the input field and this closure only: never
 * a cookie, never storage.
 */
export function experimentPage(root: HTMLElement, model: string): void {
  let view: ExperimentView | undefined;
  let receivedAt = 0;
  let history: SharePoint[] = [];
  const live: SharePoint[] = [];
  const colours = new Map<string, number>();
  const colourOf = (name: string) => {
    if (!colours.has(name)) colours.set(name, colours.size % SERIES_COLOURS);
    return colours.get(name)!;
  };

  const sequence = el('span', { attrs: { 'data-field': 'sequence' }, text: ABSENT });
  const age = el('span', { attrs: { 'data-field': 'age' }, text: ABSENT });
  const policy = el('span', { attrs: { 'data-field': 'policy' }, text: ABSENT });
  const conclusion = el('span', { attrs: { 'data-field': 'conclusion' }, text: ABSENT });
  const problem = el('p', { class: 'problem', attrs: { id: 'problem', role: 'status' } });
  const sharesBox = el('div', { attrs: { id: 'shares-chart' } });
  const densityBox = el('div', { attrs: { id: 'density-chart' } });
  const legendBox = el('div');
  const tableBox = el('div', { class: 'table-box' });
  const token = el('input', { attrs: { id: 'admin-token', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'admin token', 'aria-label': 'Admin token' } });
  const status = el('p', { class: 'action-status', attrs: { id: 'action-status', role: 'alert' } });
  const winner = el('select', { attrs: { id: 'winner', 'aria-label': 'Winner' } });
  const conclude = el('button', { text: 'Promote winner / conclude', attrs: { type: 'button', id: 'conclude' } });
  // The winner follows the leader until the user picks one.
  let winnerChosen = false;
  const reopen = el('button', { text: 'Reopen', attrs: { type: 'button', id: 'reopen' } });

  replaceChildren(root, [
    el('h1', {}, [el('a', { text: 'Experiments', attrs: { href: '/dashboard' } }), ' / ', el('span', { attrs: { id: 'model-name' }, text: model })]),
    el('section', { class: 'summary', attrs: { id: 'summary' } }, [
      el('div', {}, [el('span', { class: 'label', text: 'Record' }), sequence]),
      el('div', {}, [el('span', { class: 'label', text: 'Age' }), age]),
      el('div', {}, [el('span', { class: 'label', text: 'Policy' }), policy]),
      el('div', { class: 'wide' }, [el('span', { class: 'label', text: 'Conclusion' }), conclusion]),
    ]),
    problem,
    el('section', { class: 'charts' }, [el('figure', {}, [el('figcaption', { text: 'Traffic share over time' }), sharesBox]), el('figure', {}, [el('figcaption', { text: 'Posterior of the mean reward' }), densityBox])]),
    legendBox,
    tableBox,
    el('section', { class: 'admin', attrs: { id: 'admin' } }, [
      el('h2', { text: 'Actions' }),
      el('p', { class: 'muted', text: 'Reading needs no token. Actions send the admin token you type here as an Authorization header; it is kept in this page only.' }),
      el('div', { class: 'row' }, [token, winner, conclude, reopen]),
      status,
    ]),
  ]);

  const report = (kind: 'ok' | 'error', text: string) => {
    status.textContent = text;
    status.className = `action-status ${kind}`;
  };
  const failure = (what: string, error: unknown) => {
    if (error instanceof ApiError) {
      const hint = error.status === 401 ? ' (check the admin token)' : error.status === 409 ? ' (it changed meanwhile: the page shows the current state, try again)' : '';
      report('error', `${what} failed: ${error.status} ${error.code}: ${error.message}${hint}`);
    } else report('error', `${what} failed: ${(error as Error).message}`);
  };

  const toggle = async (variant: VariantView) => {
    const action = `${variant.enabled ? 'Disabling' : 'Enabling'} ${variant.name}`;
    try {
      // Read-modify-write of the stored document, refused (409) if it changed since it was read.
      const current = await api.experiment(model);
      if (current.config === undefined) throw new Error('this gateway does not show the experiment document');
      const config = structuredClone(current.config);
      const target = config.variants.find((entry) => entry.name === variant.name);
      if (target === undefined) throw new Error(`variant ${variant.name} is no longer in the experiment`);
      target.enabled = !variant.enabled;
      const answer = await api.putExperiment(model, config, current.revision, token.value);
      report('ok', `${variant.name} ${target.enabled ? 'enabled' : 'disabled'} (revision ${answer.revision ?? ABSENT})`);
    } catch (error) {
      failure(action, error);
    }
  };
  winner.addEventListener('change', () => (winnerChosen = true));
  conclude.addEventListener('click', async () => {
    try {
      await api.conclude(model, winner.value || undefined, token.value);
      report('ok', `concluded with ${winner.value || 'the leader'}`);
    } catch (error) {
      failure('Concluding', error);
    }
  });
  reopen.addEventListener('click', async () => {
    try {
      await api.reopen(model, token.value);
      report('ok', 'reopened');
    } catch (error) {
      failure('Reopening', error);
    }
  });

  const renderAge = () => {
    const record = view?.record;
    if (!record) {
      age.textContent = ABSENT;
      return;
    }
    const ageMs = (record.ageMs ?? (record.ageSeconds ?? 0) * 1_000) + (Date.now() - receivedAt);
    age.textContent = `${formatAge(ageMs)} (${formatTime(record.generatedAt)})`;
  };
  const renderCharts = () => {
    const names = view?.variants.filter((variant) => variant.role === 'live').map((variant) => variant.name) ?? [];
    const byTime = [...history, ...live.filter((point) => point.t > (history[history.length - 1]?.t ?? 0))];
    replaceChildren(sharesBox, [sharesChart(byTime, names, colourOf)]);
    if (view) replaceChildren(densityBox, [densityChart(view, colourOf)]);
    replaceChildren(legendBox, [legend(names, colourOf)]);
  };
  const render = () => {
    if (!view) return;
    sequence.textContent = view.record ? String(view.record.sequence) : 'none yet (warming up)';
    policy.textContent = `${view.policy.type}${view.policy.reward ? `, ${view.policy.reward} reward` : ''}`;
    conclusion.textContent = conclusionText(view.conclusion ?? manualConclusion(view));
    renderAge();
    renderCharts();
    replaceChildren(tableBox, [variantsTable(view, colourOf, (variant) => void toggle(variant))]);
    const chosen = winnerChosen ? winner.value : '';
    const candidates = view.variants.filter((variant) => variant.role === 'live' && variant.enabled);
    const leader = [...candidates].sort((a, b) => b.probabilityBest - a.probabilityBest)[0]?.name;
    replaceChildren(winner, candidates.map((variant) => el('option', { text: `${variant.name}${variant.name === leader ? ' (leader)' : ''}`, attrs: { value: variant.name } })));
    winner.value = candidates.some((variant) => variant.name === chosen) ? chosen : (leader ?? '');
  };

  const received = (next: ExperimentView) => {
    view = next;
    receivedAt = Date.now();
    problem.textContent = '';
    if (next.record && live[live.length - 1]?.sequence !== next.record.sequence) {
      live.push({ t: next.record.generatedAt, sequence: next.record.sequence, shares: Object.fromEntries(next.variants.map((variant) => [variant.name, variant.share])) });
      if (live.length > MAX_LIVE_POINTS) live.shift();
    }
    render();
  };

  const loadHistory = async () => {
    try {
      history = toSharePoints(await api.history(model));
    } catch (error) {
      // 404: no history kept (yet) for this model, or a gateway without the history API.
      if (!(error instanceof ApiError && error.status === 404)) problem.textContent = `history: ${(error as Error).message}`;
      history = [];
    }
    renderCharts();
  };

  const connect = () => {
    const source = new EventSource(api.streamUrl(model));
    source.addEventListener('open', () => setConnection('live', 'live'));
    source.addEventListener('experiment', (event) => received(JSON.parse((event as MessageEvent<string>).data) as ExperimentView));
    source.addEventListener('gone', () => {
      problem.textContent = `model ${model} has no experiment any more`;
    });
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) {
        setConnection('reconnecting', 'reconnecting…');
        return;
      }
      // The browser gave up (an error answer, not a dropped connection): say why, then try again.
      setConnection('offline', 'offline');
      api.experiment(model).then(received, (error: unknown) => {
        problem.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
      });
      setTimeout(connect, RECONNECT_MS);
    });
  };

  connect();
  void loadHistory();
  setInterval(() => void loadHistory(), HISTORY_REFRESH_MS);
  setInterval(renderAge, 1_000);
}

/** A conclusion written into the experiment document (`conclude` by hand) that no record reports yet. */
function manualConclusion(view: ExperimentView): ConclusionView | undefined {
  const concluded = view.config?.concluded as { winner?: unknown; at?: unknown } | undefined;
  if (typeof concluded?.winner !== 'string') return undefined;
  return { state: 'concluded', winner: concluded.winner, at: typeof concluded.at === 'number' ? concluded.at : undefined, by: 'manual' };
}

function toSharePoints(history: HistoryView): SharePoint[] {
  return (history.points ?? []).map((point) => ({ t: point.t, sequence: point.sequence, shares: Object.fromEntries(Object.entries(point.variants).map(([name, entry]) => [name, entry.share])) }));
}

import { api, ApiError, type ExperimentView } from './api-client.js';
import { el, replaceChildren } from './dom.js';
import { setConnection } from './connection-badge.js';
import { conclusionText } from './experiment-view.js';
import { ABSENT, formatAge, formatPercent } from './format.js';

/** Milliseconds between reads of the experiment list. */
const INDEX_REFRESH_MS = 5_000;

function row(view: ExperimentView): HTMLTableRowElement {
  const link = el('a', { text: view.model, attrs: { href: `/dashboard/${encodeURIComponent(view.model)}` } });
  if (view.error) return el('tr', { attrs: { 'data-model': view.model } }, [el('td', {}, [link]), el('td', { class: 'bad', attrs: { colspan: '5' }, text: `${view.error.code}: ${view.error.message}` })]);
  const live = view.variants.filter((variant) => variant.role === 'live' && variant.enabled);
  const leader = [...live].sort((a, b) => b.probabilityBest - a.probabilityBest)[0];
  const ageMs = view.record ? (view.record.ageMs ?? (view.record.ageSeconds ?? 0) * 1_000) : undefined;
  return el('tr', { attrs: { 'data-model': view.model } }, [
    el('td', {}, [link]),
    el('td', { text: view.policy.type }),
    el('td', { text: view.variants.map((variant) => variant.name).join(', ') }),
    el('td', { text: leader ? `${leader.name} (${formatPercent(leader.probabilityBest)})` : ABSENT }),
    el('td', { text: view.record ? `${view.record.sequence} (${formatAge(ageMs ?? 0)} old)` : 'none yet' }),
    el('td', { text: conclusionText(view.conclusion) }),
  ]);
}

/** The index: every model with an experiment on this gateway, refreshed every few seconds. */
export function indexPage(root: HTMLElement): void {
  const body = el('tbody');
  const problem = el('p', { class: 'problem', attrs: { role: 'status' } });
  replaceChildren(root, [
    el('h1', { text: 'Experiments' }),
    problem,
    el('table', { class: 'variants', attrs: { id: 'experiments' } }, [el('thead', {}, [el('tr', {}, ['Model', 'Policy', 'Variants', 'Leader (P(best))', 'Record', 'Conclusion'].map((title) => el('th', { text: title })))]), body]),
  ]);
  const load = async () => {
    try {
      const { experiments } = await api.experiments();
      replaceChildren(body, experiments.length === 0 ? [el('tr', {}, [el('td', { attrs: { colspan: '6' }, class: 'muted', text: 'No model on this gateway has an experiment.' })])] : experiments.map(row));
      problem.textContent = '';
      setConnection('live', 'live');
    } catch (error) {
      problem.textContent = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
      setConnection('offline', 'offline');
    }
  };
  void load();
  setInterval(() => void load(), INDEX_REFRESH_MS);
}

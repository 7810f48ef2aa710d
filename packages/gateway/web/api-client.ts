import type { PosteriorDescriptor } from './posterior-density.js';

/** One variant in `GET /v1/experiments/{model}`; fields newer gateways add may be absent or null. */
export interface VariantView {
  name: string;
  role: 'live' | 'shadow';
  enabled: boolean;
  trials: number;
  rewards: number;
  rewardMean: number | null;
  posterior?: PosteriorDescriptor | null;
  posteriorMean?: number | null;
  probabilityBest: number;
  share: number;
  mean?: number | null;
  interval?: [number, number] | null;
  expectedLoss?: number | null;
  guardrail?: { metric: string; value: number; max: number; trippedAt: number; dryRun: boolean } | null;
  measured?: { predictions: number; errors: number; defaults: number; p99LatencyMs: number | null } | null;
  version?: string | null;
  deployment?: string | null;
  healthyWorkers?: number | null;
  workers?: number | null;
}

/** The record's conclusion (issue 18 §2), when the aggregator reports one. */
export interface ConclusionView {
  state: string;
  winner: string;
  since?: number;
  at?: number;
  by?: string;
  promoted?: { deployment: string; version: string };
  promotion?: string;
  evidence?: { sequence: number; probabilityBest: number; expectedLoss: number; trials: number };
}

/** `GET /v1/experiments/{model}`. */
export interface ExperimentView {
  model: string;
  revision: number | null;
  policy: { type: string; reward?: string };
  record: { sequence: number; generatedAt: number; ageMs?: number; ageSeconds?: number } | null;
  conclusion?: ConclusionView | null;
  variants: VariantView[];
  /** The stored experiment document, which the kill switch edits. */
  config?: { variants: { name: string; enabled?: boolean }[] } & Record<string, unknown>;
  error?: { code: string; message: string };
}

/** `GET /v1/experiments/{model}/history`. */
export interface HistoryView {
  model: string;
  points: { t: number; sequence: number; variants: Record<string, { share: number; trials?: number; probabilityBest?: number; mean?: number }> }[];
}

/** An answer other than 2xx, with what the API said. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const path = (model: string, rest = '') => `/v1/experiments/${encodeURIComponent(model)}${rest}`;

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, cache: 'no-store', credentials: 'omit' });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `the gateway did not answer: ${(error as Error).message}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? (text.slice(0, 200) || response.statusText));
  }
  return body as T;
}

/** Reads and writes the gateway's experiment API; the admin token is given per call, never stored. */
export const api = {
  experiments: () => call<{ experiments: ExperimentView[] }>('/v1/experiments'),
  experiment: (model: string) => call<ExperimentView>(path(model)),
  history: (model: string) => call<HistoryView>(path(model, '/history')),
  streamUrl: (model: string) => path(model, '/stream'),
  /** Stores a changed experiment, refused (409) if it changed since `revision` was read. */
  putExperiment: (model: string, config: unknown, revision: number | null, token: string) =>
    call<{ revision: number | null }>(path(model), { method: 'PUT', headers: admin(token, revision), body: JSON.stringify(config) }),
  conclude: (model: string, winner: string | undefined, token: string) =>
    call<unknown>(path(model, '/conclude'), { method: 'POST', headers: admin(token, null), body: JSON.stringify(winner === undefined ? {} : { winner }) }),
  reopen: (model: string, token: string) => call<unknown>(path(model, '/reopen'), { method: 'POST', headers: admin(token, null), body: '{}' }),
};

function admin(token: string, revision: number | null): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  if (revision !== null) headers['if-match'] = String(revision);
  return headers;
}

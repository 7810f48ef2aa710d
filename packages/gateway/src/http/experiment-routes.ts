import { timingSafeEqual } from 'node:crypto';
import { EXPERIMENTS_PREFIX, InfermeshError, type KvStore, type Logger } from '@infermesh/shared';
import { effectiveShares, layoutShares, parseExperimentConfig, posteriorFor, posteriorModelOf, summarizePosterior, warmUpLayout, type RecordSource, type RecordVariant } from '@infermesh/experiments';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { ServedModel } from '../models/served-model.js';

/** What the experiment routes need. */
export interface ExperimentRouteDependencies {
  catalog: ModelCatalog;
  records: RecordSource;
  kv: KvStore;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Bearer token required to change an experiment; undefined disables changes over HTTP. */
  adminToken: string | undefined;
}

/**
 * `GET /v1/experiments`: every experiment this replica routes, described. One model's problem
 * must not hide every other experiment: that model shows its error (logged) instead.
 */
export function describeExperiments(dependencies: Pick<ExperimentRouteDependencies, 'records' | 'catalog' | 'now'> & { logger: Logger }): object[] {
  return dependencies.catalog.all().filter((model) => model.experiment !== undefined).map((model) => {
    try {
      return describeExperiment(model, dependencies);
    } catch (error) {
      const typed = InfermeshError.from(error);
      dependencies.logger.error({ model: model.name, err: error }, 'cannot describe the experiment');
      return { model: model.name, error: { code: typed.code, message: typed.clientMessage } };
    }
  });
}

/** What `GET /v1/experiments/{model}` answers (and the dashboard's stream sends): a plain JSON object. */
export type ExperimentDescription = Record<string, unknown> & { model: string; record: { sequence: number; generatedAt: number; ageMs: number; ageSeconds: number } | null };

/**
 * Per-variant view of a model's experiment as this replica routes it: the record it decides
 * from (sequence, age), evidence, posterior, probability of being best, share, and what serves
 * it (version, deployment, healthy workers).
 */
export function describeExperiment(model: ServedModel, dependencies: Pick<ExperimentRouteDependencies, 'records' | 'catalog' | 'now'>): ExperimentDescription {
  const experiment = model.experiment;
  if (experiment === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model.name}' has no experiment`);
  const record = dependencies.records.get(model.name);
  const routable = new Set(experiment.variants.filter((variant) => variant.enabled && variant.role === 'live').map((variant) => variant.name));
  const recordWidths = record === undefined ? undefined : layoutShares(record.layout);
  const fromRecord = recordWidths !== undefined && [...routable].some((name) => (recordWidths.get(name) ?? 0) > 0);
  const shares = effectiveShares(fromRecord ? record!.layout : warmUpLayout(experiment, [...routable]), routable);
  const rewardModel = posteriorModelOf(experiment.policy);
  return {
    model: model.name,
    revision: dependencies.catalog.experimentRevision(model.name) ?? null,
    entityKey: experiment.entityKey,
    stickinessSeconds: experiment.stickinessSeconds,
    policy: experiment.policy,
    shadow: experiment.shadow,
    // The stored document, which a read-modify-write (the dashboard's kill switch) edits and PUTs back.
    config: JSON.parse(dependencies.catalog.sourcesOf(model.name)?.experiment ?? 'null') as unknown,
    conclude: experiment.conclude ?? null,
    concluded: experiment.concluded ?? null,
    reopenedAt: experiment.reopenedAt ?? null,
    record: fromRecord ? recordAge(record!.sequence, record!.generatedAt, dependencies.now()) : null,
    conclusion: fromRecord ? (record!.conclusion ?? null) : null,
    variants: experiment.variants.map((variant) => {
      const stats: Partial<RecordVariant> & Pick<RecordVariant, 'trials' | 'rewardSum' | 'rewardSumSquares' | 'probabilityBest'> = record?.variants[variant.name] ?? { trials: 0, rewardSum: 0, rewardSumSquares: 0, probabilityBest: 0 };
      // A record of an older aggregator lacks the summary (or part of it): what it lacks, computed from its evidence.
      const computed = stats.posterior !== undefined && stats.interval !== undefined && stats.mean !== undefined ? undefined : summarizePosterior(posteriorFor(rewardModel, stats));
      const summary = { mean: stats.mean ?? computed!.mean, interval: stats.interval ?? computed!.interval, posterior: stats.posterior ?? computed!.posterior };
      const pool = model.variants.find((served) => served.name === variant.name)?.pool;
      const versions = pool?.versions() ?? [];
      return {
        name: variant.name,
        role: variant.role,
        enabled: variant.enabled,
        trials: stats.trials,
        rewards: stats.rewardSum,
        rewardMean: stats.trials > 0 ? stats.rewardSum / stats.trials : null,
        posterior: summary.posterior,
        posteriorMean: summary.mean,
        mean: summary.mean,
        interval: summary.interval,
        probabilityBest: stats.probabilityBest,
        expectedLoss: stats.expectedLoss ?? null,
        measured: stats.measured ?? null,
        guardrail: stats.guardrail ?? null,
        share: shares.get(variant.name) ?? 0,
        // Two versions at once: a deployment mid-rollout, both named.
        version: versions.length === 0 ? null : versions.join(','),
        deployment: variant.pool.deployment ?? null,
        healthyWorkers: pool?.healthyCount() ?? 0,
        workers: pool?.size() ?? 0,
      };
    }),
  };
}

/** A record's sequence and freshness as the API shows them (`ageSeconds` kept for clients written before `ageMs`). */
function recordAge(sequence: number, generatedAt: number, now: number): NonNullable<ExperimentDescription['record']> {
  const ageMs = Math.max(0, now - generatedAt);
  return { sequence, generatedAt, ageMs, ageSeconds: ageMs / 1000 };
}

/**
 * `PUT /v1/experiments/{model}` (`authorization` and `ifMatch` are the request's headers): validates and stores a new experiment, then applies it on this
 * replica before answering, so a kill switch holds for every request this replica answers
 * afterwards. Other replicas apply it within moments; the answer's `revision` is what
 * `GET /v1/experiments/{model}` shows once a replica serves it.
 */
export async function putExperiment(authorization: string | undefined, model: string, body: unknown, dependencies: ExperimentRouteDependencies, ifMatch?: string): Promise<object> {
  checkAdminToken(authorization, dependencies.adminToken);
  if (dependencies.catalog.get(model) === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model}' is not configured on this gateway`);
  const text = JSON.stringify(body);
  parseExperimentConfig(model, text);
  const key = `${EXPERIMENTS_PREFIX}${model}`;
  const current = await dependencies.kv.get(key);
  // If-Match: the revision the client read; a document changed since then is not overwritten.
  if (ifMatch !== undefined && ifMatch.replace(/^W\/|"/g, '') !== String(current?.index ?? 0)) {
    throw new InfermeshError('CONFLICT', `the experiment of '${model}' is at revision ${current?.index ?? 0}, not ${ifMatch}; read it again and retry`);
  }
  if (!(await dependencies.kv.compareAndSet(key, text, current?.index ?? 0))) {
    throw new InfermeshError('CONFLICT', `the experiment of '${model}' changed meanwhile; read it again and retry`);
  }
  await dependencies.catalog.refresh();
  // Another writer may have stored a newer experiment right after this one: say which one serves.
  const applied = dependencies.catalog.sourcesOf(model)?.experiment === text;
  return { model, stored: key, revision: dependencies.catalog.experimentRevision(model) ?? null, applied };
}

/** Throws UNAUTHORIZED unless `authorization` is `Bearer <admin token>` (compared in constant time). */
function checkAdminToken(authorization: string | undefined, token: string | undefined): void {
  if (token === undefined) throw new InfermeshError('UNAUTHORIZED', 'changing experiments over HTTP is disabled: start the gateway with --admin-token');
  const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InfermeshError('UNAUTHORIZED', 'a valid admin token is required (Authorization: Bearer …)');
}

/**
 * `POST /v1/experiments/{model}/conclude` `{winner?}`: a person concludes the experiment. The
 * experiment document gains `concluded: {winner, at}` (by compare-and-set); the aggregator's next
 * record routes all live traffic to the winner (the record's leader when none is named) and
 * promotes it when the experiment has a `promote` block.
 */
export async function concludeExperiment(authorization: string | undefined, model: string, body: unknown, dependencies: ExperimentRouteDependencies): Promise<object> {
  checkAdminToken(authorization, dependencies.adminToken);
  const winner = (body as { winner?: unknown } | undefined)?.winner;
  if (winner !== undefined && typeof winner !== 'string') throw new InfermeshError('INVALID_ARGUMENT', 'winner must be the name of a live variant');
  const at = Math.round(dependencies.now());
  return rewriteExperiment(model, dependencies, (document) => ({ ...document, concluded: { ...(winner === undefined ? {} : { winner }), at } }));
}

/**
 * `POST /v1/experiments/{model}/reopen`: a person reopens the experiment. `concluded` is removed and
 * `reopenedAt` set, which clears any conclusion and guardrail trip of records before it: the
 * experiment routes by its policy again (a promotion already made is not undone).
 */
export async function reopenExperiment(authorization: string | undefined, model: string, dependencies: ExperimentRouteDependencies): Promise<object> {
  checkAdminToken(authorization, dependencies.adminToken);
  const reopenedAt = Math.round(dependencies.now());
  return rewriteExperiment(model, dependencies, ({ concluded: _concluded, ...document }) => ({ ...document, reopenedAt }));
}

/** Reads the stored experiment document, changes it, validates and stores it by compare-and-set, and applies it on this replica. */
async function rewriteExperiment(model: string, dependencies: ExperimentRouteDependencies, change: (document: Record<string, unknown>) => Record<string, unknown>): Promise<object> {
  if (dependencies.catalog.get(model) === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model}' is not configured on this gateway`);
  const key = `${EXPERIMENTS_PREFIX}${model}`;
  const current = await dependencies.kv.get(key);
  if (current === undefined) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model}' has no experiment`);
  const text = JSON.stringify(change(JSON.parse(current.value) as Record<string, unknown>));
  const experiment = parseExperimentConfig(model, text);
  if (!(await dependencies.kv.compareAndSet(key, text, current.index))) {
    throw new InfermeshError('CONFLICT', `the experiment of '${model}' changed meanwhile; retry`);
  }
  await dependencies.catalog.refresh();
  const applied = dependencies.catalog.sourcesOf(model)?.experiment === text;
  return { model, stored: key, revision: dependencies.catalog.experimentRevision(model) ?? null, applied, concluded: experiment.concluded ?? null, reopenedAt: experiment.reopenedAt ?? null };
}

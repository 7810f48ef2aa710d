import { InfermeshError } from '../errors/infermesh-error.js';
import type { KvStore } from '../kv/kv-store.js';
import { deploymentKey, MODELS_PREFIX, versionKey } from './registry-keys.js';
import { checkName, parseArtifactRef, parseDeployment, type ArtifactRef, type DeploymentRecord } from './registry-records.js';

/** How many earlier versions a deployment remembers for rollback. */
export const ROLLBACK_DEPTH = 20;
/** How many promotion/rollback events a deployment keeps. */
export const HISTORY_DEPTH = 50;

/** A deployment with the index its next compare-and-set must name. */
export interface DeploymentState {
  record: DeploymentRecord;
  index: number;
}

/** Options of a promotion. */
export interface PromoteOptions {
  /** Promote only if the deployment currently serves this version (optimistic guard for scripts). */
  ifVersion?: string;
}

/** A model's versions and deployments, as `infermesh models status` shows them. */
export interface ModelSummary {
  model: string;
  versions: string[];
  deployments: Record<string, DeploymentRecord>;
}

/**
 * The model registry: immutable versions and compare-and-set deployments in a KV store.
 * `now` is injected so records carry testable timestamps.
 */
export class ModelRegistry {
  constructor(
    readonly kv: KvStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records a new version; versions are immutable, so an existing one is ALREADY_EXISTS. */
  async publish(model: string, version: string, ref: ArtifactRef): Promise<void> {
    checkName('model', model);
    checkName('version', version);
    const written = await this.kv.compareAndSet(versionKey(model, version), JSON.stringify(ref), 0);
    if (!written) {
      throw new InfermeshError('ALREADY_EXISTS', `version '${version}' of model '${model}' already exists; versions are immutable, publish a new one`, {
        details: { model, version },
      });
    }
  }

  /** The artifact of a version, or undefined. */
  async version(model: string, version: string): Promise<ArtifactRef | undefined> {
    const entry = await this.kv.get(versionKey(model, version));
    return entry ? parseArtifactRef(`version ${model}/${version}`, entry.value) : undefined;
  }

  /** A deployment with its index, or undefined. */
  async deployment(model: string, deployment: string): Promise<DeploymentState | undefined> {
    const entry = await this.kv.get(deploymentKey(model, deployment));
    return entry ? { record: parseDeployment(`deployment ${model}/${deployment}`, entry.value), index: entry.index } : undefined;
  }

  /** Points a deployment at an existing version; a concurrent change in between is CONFLICT. */
  async promote(model: string, deployment: string, version: string, options: PromoteOptions = {}): Promise<DeploymentRecord> {
    checkName('deployment', deployment);
    if ((await this.version(model, version)) === undefined) {
      throw new InfermeshError('VERSION_NOT_FOUND', `model '${model}' has no version '${version}'; publish it first`, { details: { model, version } });
    }
    const current = await this.deployment(model, deployment);
    if (options.ifVersion !== undefined && current?.record.version !== options.ifVersion) {
      throw this.conflict(model, deployment, current?.record.version, `expected it to serve '${options.ifVersion}'`);
    }
    const previous = current && current.record.version !== version ? [current.record.version, ...current.record.previous] : current?.record.previous ?? [];
    const record = this.nextRecord(current?.record, version, previous, 'promote');
    await this.write(model, deployment, record, current?.index ?? 0);
    return record;
  }

  /** Returns a deployment to the version it served before the last promotion. */
  async rollback(model: string, deployment: string): Promise<DeploymentRecord> {
    const current = await this.deployment(model, deployment);
    if (current === undefined) {
      throw new InfermeshError('DEPLOYMENT_NOT_FOUND', `model '${model}' has no deployment '${deployment}'`, { details: { model, deployment } });
    }
    const [target, ...rest] = current.record.previous;
    if (target === undefined) {
      throw new InfermeshError('CONFLICT', `deployment '${deployment}' of model '${model}' has no earlier version to roll back to`, { details: { model, deployment } });
    }
    const record = this.nextRecord(current.record, target, rest, 'rollback');
    await this.write(model, deployment, record, current.index);
    return record;
  }

  /** Versions and deployments of one model, or of every model. */
  async summaries(model?: string): Promise<ModelSummary[]> {
    const entries = await this.kv.list(model === undefined ? MODELS_PREFIX : `${MODELS_PREFIX}${model}/`);
    const byModel = new Map<string, ModelSummary>();
    for (const entry of entries) {
      const [, name, kind, item] = entry.key.split('/');
      if (name === undefined || item === undefined) continue;
      const summary = byModel.get(name) ?? { model: name, versions: [], deployments: {} };
      byModel.set(name, summary);
      if (kind === 'versions') summary.versions.push(item);
      else if (kind === 'deployments') summary.deployments[item] = parseDeployment(`deployment ${name}/${item}`, entry.value);
    }
    return [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  private nextRecord(current: DeploymentRecord | undefined, version: string, previous: string[], action: 'promote' | 'rollback'): DeploymentRecord {
    const at = this.now().toISOString();
    return {
      version,
      previous: previous.slice(0, ROLLBACK_DEPTH),
      updatedAt: at,
      history: [{ action, version, at }, ...(current?.history ?? [])].slice(0, HISTORY_DEPTH),
    };
  }

  private async write(model: string, deployment: string, record: DeploymentRecord, index: number): Promise<void> {
    const written = await this.kv.compareAndSet(deploymentKey(model, deployment), JSON.stringify(record), index);
    if (!written) {
      const now = await this.deployment(model, deployment);
      throw this.conflict(model, deployment, now?.record.version, 'it changed while this command ran');
    }
  }

  private conflict(model: string, deployment: string, serving: string | undefined, reason: string): InfermeshError {
    return new InfermeshError(
      'CONFLICT',
      `deployment '${deployment}' of model '${model}' now serves ${serving === undefined ? 'nothing' : `'${serving}'`}; ${reason}. Check and retry.`,
      { details: { model, deployment, serving } },
    );
  }
}

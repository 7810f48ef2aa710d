import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger, FileKvStore, InfermeshError, ModelRegistry, type KvChange, type KvStore } from '@infermesh/shared';
import { Registry } from 'prom-client';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS } from '@infermesh/shared';
import { DeploymentFollower } from './deployment-follower.js';
import type { ModelLoader } from './model-loader.js';
import { ModelSlot } from './model-slot.js';

const SHA = 'b'.repeat(64);

/** A file store whose next `failures` blocking reads fail as an unreachable Consul would. */
class FlakyKvStore implements KvStore {
  readonly description = 'flaky';
  failures = 0;
  getFailures = 0;
  readonly waitedFrom: number[] = [];
  constructor(private readonly wrapped: KvStore) {}
  inner = () => this.wrapped;
  get = async (key: string) => {
    if (this.getFailures > 0) {
      this.getFailures -= 1;
      throw new InfermeshError('UPSTREAM_UNAVAILABLE', 'connection refused', { retriable: true });
    }
    return this.wrapped.get(key);
  };
  list = (prefix: string) => this.wrapped.list(prefix);
  keys = (prefix: string) => this.wrapped.keys(prefix);
  compareAndDelete = (key: string, index: number) => this.wrapped.compareAndDelete(key, index);
  compareAndSet = (key: string, value: string, index: number) => this.wrapped.compareAndSet(key, value, index);
  waitForPrefixChange = (prefix: string, index: number, options: { waitMs: number }) => this.wrapped.waitForPrefixChange(prefix, index, options);
  async waitForChange(key: string, index: number, options: { waitMs: number; signal?: AbortSignal }): Promise<KvChange> {
    this.waitedFrom.push(index);
    if (this.failures > 0) {
      this.failures -= 1;
      throw new InfermeshError('UPSTREAM_UNAVAILABLE', 'connection refused', { retriable: true });
    }
    return this.wrapped.waitForChange(key, index, options);
  }
}

function fakeLoader(failFor: Set<string>): ModelLoader {
  return {
    load: async (model: string, version: string) => {
      if (failFor.has(version)) throw new InfermeshError('ARTIFACT_CHECKSUM_MISMATCH', `bad ${version}`);
      const loaded: LoadedModel = { name: model, version, runtime: { platform: 't', inputs: [], outputs: [], infer: async () => [], dispose: async () => undefined } };
      return { loaded, timings: { fetchMs: 1, verifyMs: 1, loadMs: 1, warmupMs: 1 } };
    },
  } as unknown as ModelLoader;
}

async function setup(failFor = new Set<string>()) {
  const kv = new FlakyKvStore(new FileKvStore(mkdtempSync(join(tmpdir(), 'follower-')), 5));
  const registry = new ModelRegistry(kv);
  for (const version of ['v1', 'v2', 'v3']) await registry.publish('m', version, { uri: `file:///${version}`, sha256: SHA, metadata: {} });
  const slot = new ModelSlot();
  const sleeps: number[] = [];
  const prometheus = new Registry();
  const follower = new DeploymentFollower('m', 'prod', {
    registry,
    loader: fakeLoader(failFor),
    slot,
    metrics: new WorkerMetrics(prometheus),
    logger: createLogger({ service: 'test', level: 'silent' }),
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    waitMs: 200,
  });
  // Stopped even when an assertion fails, so a failing test ends instead of hanging.
  after(() => follower.stop());
  return { kv, registry, slot, sleeps, follower, prometheus };
}

const until = async (what: string, predicate: () => boolean | Promise<boolean>) => {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
};

test('registry errors back off exponentially with jitter, capped, asking again from the same index', async () => {
  const { kv, registry, slot, sleeps, follower } = await setup();
  await registry.promote('m', 'prod', 'v1');
  follower.start();
  await follower.ready;
  const waitsBefore = kv.waitedFrom.length;
  kv.failures = 8;
  await until('the outage to pass', () => kv.failures === 0);
  await registry.promote('m', 'prod', 'v2');
  await until('v2 to serve', () => slot.current()?.version === 'v2');
  await follower.stop();
  const expected = Array.from({ length: 8 }, (_, attempt) => 0.5 * Math.min(DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_BASE_MS * 2 ** (attempt + 1)));
  assert.deepEqual(sleeps.slice(0, 8), expected);
  const duringOutage = kv.waitedFrom.slice(waitsBefore, waitsBefore + 9);
  assert.equal(new Set(duringOutage).size, 1, `every retry asks from the last index: ${duringOutage.join(',')}`);
});

test('a change seen while the registry fails mid-handling is not lost: the same change is handled on retry', async () => {
  const { kv, registry, slot, follower } = await setup();
  await registry.promote('m', 'prod', 'v1');
  follower.start();
  await follower.ready;
  // The deployment change arrives, then reading the version it names fails once.
  kv.getFailures = 1;
  await kv.compareAndSet('models/m/deployments/prod', JSON.stringify({ version: 'v2' }), (await kv.inner().get('models/m/deployments/prod'))!.index);
  await until('v2 to serve', () => slot.current()?.version === 'v2');
  await follower.stop();
});

test('a version that fails to load is skipped; the current one stays; the next change is tried', async () => {
  const { registry, slot, follower, prometheus } = await setup(new Set(['v2']));
  await registry.promote('m', 'prod', 'v1');
  follower.start();
  await follower.ready;
  await registry.promote('m', 'prod', 'v2');
  await until('the failure to be counted', async () =>
    (await prometheus.getSingleMetricAsString('infermesh_worker_reload_failures_total')).includes('reason="ARTIFACT_CHECKSUM_MISMATCH"} 1'),
  );
  assert.equal(slot.current()?.version, 'v1');
  await registry.promote('m', 'prod', 'v3');
  await until('v3 to serve', () => slot.current()?.version === 'v3');
  await follower.stop();
});

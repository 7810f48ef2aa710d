import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger, NdjsonEventPublisher, type EventInput } from '@infermesh/shared';
import { followEventDirectories } from './follow-event-directories.js';

const root = mkdtempSync(join(tmpdir(), 'event-tree-'));
after(() => rmSync(root, { recursive: true, force: true }));

const reloaded = (worker: string, version: number): EventInput => ({
  type: 'infermesh.model.reloaded',
  subject: 'churn',
  data: { model: 'churn', deployment: 'prod', fromVersion: null, toVersion: `v${version}`, worker, timingsMs: { fetch: 1, verify: 1, load: 1, warmup: 1 } },
});

async function started(name: string): Promise<NdjsonEventPublisher> {
  const publisher = new NdjsonEventPublisher({ dir: join(root, name), source: `urn:infermesh:worker:test:${name}`, logger: createLogger({ service: 'test', level: 'silent' }), registry: new Registry() });
  await publisher.start();
  return publisher;
}

test('every process stream under the events directory is followed, including one that starts later; from the beginning or from now', async () => {
  const gateway = await started('gateway');
  const worker = await started('worker-8001');
  await gateway.publish(reloaded('gateway', 1));
  await worker.publish(reloaded('worker-8001', 1));

  const read = (fromBeginning: boolean, until: number) => {
    const seen: string[] = [];
    const abort = new AbortController();
    const done = followEventDirectories(root, (event) => {
      const data = event.envelope.data as { worker: string; toVersion: string };
      seen.push(`${data.worker}:${data.toVersion}`);
      if (seen.length >= until) abort.abort();
    }, abort.signal, { fromBeginning, discoveryMs: 20 });
    return { seen, done, abort };
  };
  const history = read(true, 4);
  const live = read(false, 3);
  // Let both readers find the existing streams before anything new is published.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await gateway.publish(reloaded('gateway', 2));
  const late = await started('worker-8002');
  await late.publish(reloaded('worker-8002', 1));
  await worker.publish(reloaded('worker-8001', 2));
  await Promise.all([history.done, live.done]);
  assert.deepEqual(history.seen.slice(0, 2).sort(), ['gateway:v1', 'worker-8001:v1'], 'from the beginning: what was there');
  assert.deepEqual([...live.seen].sort(), ['gateway:v2', 'worker-8001:v2', 'worker-8002:v1'], 'from now: only what was published after, a new process\'s stream whole');
  await Promise.all([gateway.stop(), worker.stop(), late.stop()]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LoadedModel } from '../runtime/loaded-model.js';
import { ModelSlot, type ModelLease } from './model-slot.js';

interface Tracked {
  model: LoadedModel;
  disposals: number;
  leasesAtDispose: number[];
}

function trackedModel(version: string, outstanding: Map<string, number>): Tracked {
  const tracked: Tracked = { model: undefined as unknown as LoadedModel, disposals: 0, leasesAtDispose: [] };
  tracked.model = {
    name: 'm',
    version,
    runtime: {
      platform: 'test',
      inputs: [],
      outputs: [],
      infer: async () => [],
      dispose: async () => {
        tracked.disposals += 1;
        tracked.leasesAtDispose.push(outstanding.get(version) ?? 0);
      },
    },
  };
  return tracked;
}

type Step = { kind: 'acquire' } | { kind: 'release'; pick: number } | { kind: 'swap' };

const steps = fc.array(
  fc.oneof(fc.constant<Step>({ kind: 'acquire' }), fc.nat().map<Step>((pick) => ({ kind: 'release', pick })), fc.constant<Step>({ kind: 'swap' })),
  { maxLength: 80 },
);

test('a swap never disposes a model a call still uses; every retired model is disposed exactly once after it drains', async () => {
  await fc.assert(
    fc.asyncProperty(steps, async (plan) => {
      const outstanding = new Map<string, number>();
      const models: Tracked[] = [];
      const slot = new ModelSlot();
      const leases: ModelLease[] = [];
      const swapIn = () => {
        const tracked = trackedModel(`v${models.length}`, outstanding);
        models.push(tracked);
        slot.swap(tracked.model);
      };
      swapIn();
      for (const step of plan) {
        if (step.kind === 'swap') swapIn();
        else if (step.kind === 'acquire') {
          const lease = slot.acquire()!;
          assert.equal(lease.model, models[models.length - 1]!.model, 'new calls always get the newest model');
          outstanding.set(lease.model.version, (outstanding.get(lease.model.version) ?? 0) + 1);
          leases.push(lease);
        } else if (leases.length > 0) {
          const [lease] = leases.splice(step.pick % leases.length, 1);
          outstanding.set(lease!.model.version, outstanding.get(lease!.model.version)! - 1);
          lease!.release();
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
      const current = models[models.length - 1]!;
      assert.equal(current.disposals, 0, 'the serving model is never disposed');
      for (const tracked of models.slice(0, -1)) {
        const stillLeased = (outstanding.get(tracked.model.version) ?? 0) > 0;
        assert.equal(tracked.disposals, stillLeased ? 0 : 1, `${tracked.model.version}: disposed once iff drained`);
        assert.ok(tracked.leasesAtDispose.every((count) => count === 0), 'disposed only with no lease outstanding');
      }
      for (const lease of leases) lease.release();
      await slot.close();
      assert.ok(models.every((tracked) => tracked.disposals === 1), 'close() disposes everything once');
    }),
  );
});

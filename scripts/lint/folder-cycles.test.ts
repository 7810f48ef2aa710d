import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findFolderCycles } from './folder-cycles.js';

const gateway = (path: string) => `packages/gateway/src/${path}`;

test('two folders importing each other are a cycle, named with one import for each direction', () => {
  const cycles = findFolderCycles({
    [gateway('models/served-model.ts')]: [gateway('experiments/experiment-config.ts'), gateway('models/model-config.ts')],
    [gateway('experiments/experiment-config.ts')]: [gateway('models/model-config.ts')],
    [gateway('models/model-config.ts')]: [],
  });
  assert.deepEqual(cycles, [
    {
      root: 'packages/gateway/src',
      steps: [
        { from: 'experiments', to: 'models', file: gateway('experiments/experiment-config.ts'), imports: gateway('models/model-config.ts') },
        { from: 'models', to: 'experiments', file: gateway('models/served-model.ts'), imports: gateway('experiments/experiment-config.ts') },
      ],
    },
  ]);
});

test('a longer loop of folders is a cycle too, though no two of them import each other', () => {
  const cycles = findFolderCycles({
    [gateway('batching/call-batcher.ts')]: [gateway('pools/worker-pool.ts')],
    [gateway('pools/create-endpoint-source.ts')]: [gateway('models/model-config.ts')],
    [gateway('models/served-model.ts')]: [gateway('batching/call-batcher.ts')],
  });
  assert.deepEqual(
    cycles.map((cycle) => cycle.steps.map((step) => `${step.from}→${step.to}`)),
    [['batching→pools', 'pools→models', 'models→batching']],
  );
});

test('of folders that all reach each other, the shortest loop is named, with a source file as the example import when there is one', () => {
  const cycles = findFolderCycles({
    [gateway('batching/call-batcher.test.ts')]: [gateway('pools/worker-pool.ts')],
    [gateway('batching/call-batcher.ts')]: [gateway('pools/worker-pool.ts')],
    [gateway('pools/create-endpoint-source.ts')]: [gateway('models/model-config.ts')],
    [gateway('models/served-model.ts')]: [gateway('batching/call-batcher.ts'), gateway('pools/worker-pool.ts')],
  });
  assert.deepEqual(cycles[0]?.steps, [
    { from: 'models', to: 'pools', file: gateway('models/served-model.ts'), imports: gateway('pools/worker-pool.ts') },
    { from: 'pools', to: 'models', file: gateway('pools/create-endpoint-source.ts'), imports: gateway('models/model-config.ts') },
  ]);
  assert.equal(cycles.length, 1);
});

test('acyclic folders, files directly in src/, imports within a folder and between packages are no cycle', () => {
  assert.deepEqual(
    findFolderCycles({
      [gateway('index.ts')]: [gateway('models/served-model.ts')],
      [gateway('models/served-model.ts')]: [gateway('index.ts'), gateway('models/model-config.ts'), gateway('pools/worker-pool.ts'), 'packages/shared/src/pools/pool-config.ts'],
      [gateway('pools/worker-pool.ts')]: ['packages/shared/src/index.ts'],
      'packages/shared/src/pools/pool-config.ts': ['packages/shared/src/contract/mesh-contract.ts'],
      'packages/shared/src/contract/mesh-contract.ts': [],
      'test/support/x.ts': [gateway('models/served-model.ts')],
    }),
    [],
  );
});

test('the same folder names in two packages are different folders', () => {
  const cycles = findFolderCycles({
    'packages/shared/src/config/a.ts': ['packages/shared/src/errors/b.ts'],
    'packages/gateway/src/errors/c.ts': ['packages/gateway/src/config/d.ts'],
  });
  assert.deepEqual(cycles, []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExperimentConfig } from './experiment-config.js';

const config = (variants: object[], policy: object = { type: 'weighted' }) => JSON.stringify({ entityKey: 'userId', policy, variants });
const pool = { static: ['127.0.0.1:8001'] };

test('a config whose enabled live variants all weigh 0 is refused, for weighted and Thompson policies alike: it would route no request', () => {
  for (const policy of [{ type: 'weighted' }, { type: 'thompson', reward: 'binary' }]) {
    // The kill switch took the only weighted variant: b is live but weighs 0.
    const killed = config([{ name: 'a', weight: 1, enabled: false, pool }, { name: 'b', weight: 0, pool }], policy);
    assert.throws(() => parseExperimentConfig('m', killed), (error: Error & { code?: string }) => error.code === 'INVALID_CONFIG' && /all have weight 0/.test(error.message), JSON.stringify(policy));
    // A weight-0 variant beside a weighted one is fine (Thompson floors it; weighted gives it nothing).
    assert.doesNotThrow(() => parseExperimentConfig('m', config([{ name: 'a', weight: 1, pool }, { name: 'b', weight: 0, pool }], policy)));
  }
});

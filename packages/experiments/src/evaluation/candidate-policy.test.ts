import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCandidatePolicy } from './candidate-policy.js';

const context = { variants: ['a', 'b', 'c'] };
const probabilities = (spec: string, recordShares?: ReadonlyMap<string, number>) =>
  Object.fromEntries(parseCandidatePolicy(spec, recordShares === undefined ? context : { ...context, recordShares }).probabilities);

test('the four forms give probabilities that sum to 1 over the experiment variants', () => {
  assert.deepEqual(probabilities('always:b'), { b: 1 });
  assert.deepEqual(probabilities('weights:a=1,b=3'), { a: 0.25, b: 0.75 });
  assert.deepEqual(probabilities('uniform'), { a: 1 / 3, b: 1 / 3, c: 1 / 3 });
  assert.deepEqual(probabilities('record', new Map([['a', 0.2], ['c', 0.8]])), { a: 0.2, c: 0.8 });
});

test('mistakes are refused with the policy and what is wrong', () => {
  const refused = (spec: string, pattern: RegExp, recordShares?: ReadonlyMap<string, number>) =>
    assert.throws(
      () => parseCandidatePolicy(spec, recordShares === undefined ? context : { ...context, recordShares }),
      (error: Error & { code?: string }) => error.code === 'INVALID_ARGUMENT' && error.message.includes(`'${spec}'`) && pattern.test(error.message),
      spec,
    );
  refused('always:z', /unknown variant 'z' \(known: a, b, c\)/);
  refused('always', /needs a variant/);
  refused('weights:a=1,a=2', /weighted twice/);
  refused('weights:a=-1', /finite weight >= 0/);
  refused('weights:a=0,b=0', /add up to 0/);
  refused('weights:a', /variant=weight/);
  refused('uniform:3', /takes no argument/);
  refused('record', /no published record/);
  refused('best', /one of always:VARIANT/);
});

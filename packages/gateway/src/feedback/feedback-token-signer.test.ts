import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InfermeshError, type ErrorCode } from '@infermesh/shared';
import type { FeedbackClaims } from './feedback-claims.js';
import { FeedbackTokenSigner, MAX_FEEDBACK_TOKEN_CHARS, type FeedbackSigningKey } from './feedback-token-signer.js';

const TTL_MS = 60_000;
const KEY_A: FeedbackSigningKey = { id: 'a', secret: 'a'.repeat(32) };
const KEY_B: FeedbackSigningKey = { id: 'b', secret: Buffer.alloc(32, 7) };

const manualClock = (start = 1_700_000_000_000) => {
  const clock = { ms: start, now: () => clock.ms };
  return clock;
};

const signerWith = (keys: FeedbackSigningKey[], now: () => number) => new FeedbackTokenSigner({ keys, ttlMs: TTL_MS, now });

const claims: Omit<FeedbackClaims, 'issuedAt'> = { predictionId: 'p-1', requestId: 'r-1', model: 'ranker', variant: 'treatment', version: 'v7', entity: 'u1' };

const arbitraryClaims = fc.record({
  predictionId: fc.uuid(),
  requestId: fc.string({ minLength: 1, maxLength: 40 }),
  model: fc.string({ maxLength: 40 }),
  variant: fc.string({ maxLength: 40 }),
  version: fc.string({ maxLength: 40 }),
  entity: fc.string({ unit: 'grapheme', maxLength: 40 }),
});

/** Runs verify and returns the error code it threw, failing on success or on a foreign error. */
function rejectionCode(signer: FeedbackTokenSigner, token: unknown): ErrorCode {
  try {
    signer.verify(token);
  } catch (error) {
    assert.ok(error instanceof InfermeshError, `only InfermeshError escapes, got ${String(error)}`);
    return error.code;
  }
  assert.fail(`token was accepted: ${String(token)}`);
}

const REJECTED: readonly ErrorCode[] = ['INVALID_ARGUMENT', 'UNAUTHORIZED'];

test('a signed token verifies to the claims it was signed with, stamped with the signing time', () => {
  fc.assert(
    fc.property(arbitraryClaims, (input) => {
      const clock = manualClock();
      const signer = signerWith([KEY_A], clock.now);
      const token = signer.sign(input);
      assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe without escaping');
      clock.ms += TTL_MS - 1;
      assert.deepEqual(signer.verify(token), { ...input, issuedAt: clock.ms - TTL_MS + 1, expiresAt: clock.ms + 1, keyId: 'a' });
    }),
  );
});

test('any single-character edit of a token is refused with INVALID_ARGUMENT or UNAUTHORIZED, never accepted', () => {
  const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %'.split(''));
  fc.assert(
    fc.property(arbitraryClaims, fc.nat(), alphabet, (input, at, replacement) => {
      const clock = manualClock();
      const signer = signerWith([KEY_A, KEY_B], clock.now);
      const token = signer.sign(input);
      const index = at % token.length;
      fc.pre(token[index] !== replacement);
      const tampered = token.slice(0, index) + replacement + token.slice(index + 1);
      assert.ok(REJECTED.includes(rejectionCode(signer, tampered)));
    }),
  );
});

test('any single-byte change of the decoded payload or signature is refused', () => {
  fc.assert(
    fc.property(arbitraryClaims, fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (input, inPayload, at, mask) => {
      const clock = manualClock();
      const signer = signerWith([KEY_A], clock.now);
      const parts = signer.sign(input).split('.').map((part) => Buffer.from(part, 'base64url'));
      const bytes = parts[inPayload ? 0 : 1]!;
      const index = at % bytes.length;
      bytes[index] = bytes[index]! ^ mask;
      const tampered = parts.map((part) => part.toString('base64url')).join('.');
      assert.ok(REJECTED.includes(rejectionCode(signer, tampered)));
    }),
  );
});

test('a token signed with a different secret under the same key id is UNAUTHORIZED', () => {
  const clock = manualClock();
  const forger = signerWith([{ id: 'a', secret: 'f'.repeat(32) }], clock.now);
  assert.throws(() => signerWith([KEY_A], clock.now).verify(forger.sign(claims)), { code: 'UNAUTHORIZED', message: /signature does not match/ });
});

test('a token is accepted until ttlMs after signing, then UNAUTHORIZED as expired', () => {
  const clock = manualClock();
  const signer = signerWith([KEY_A], clock.now);
  const token = signer.sign(claims);
  clock.ms += TTL_MS - 1;
  assert.equal(signer.verify(token).predictionId, 'p-1');
  clock.ms += 1;
  assert.throws(() => signer.verify(token), (error: unknown) => {
    assert.ok(error instanceof InfermeshError);
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.match(error.message, /expired at 2023-11-14T22:14:20\.000Z/);
    return true;
  });
});

test('after a rotation, tokens of the previous key verify while it is listed and are refused once it is removed', () => {
  const clock = manualClock();
  const beforeRotation = signerWith([KEY_A], clock.now).sign(claims);
  const rotated = signerWith([KEY_B, KEY_A], clock.now);
  assert.equal(rotated.verify(beforeRotation).keyId, 'a', 'previous key still accepted');
  const afterRotation = rotated.sign(claims);
  assert.equal(rotated.verify(afterRotation).keyId, 'b', 'new tokens use the first key');
  const cleanedUp = signerWith([KEY_B], clock.now);
  assert.throws(() => cleanedUp.verify(beforeRotation), { code: 'UNAUTHORIZED', message: "feedback token was signed with unknown key 'a'" });
  assert.equal(cleanedUp.verify(afterRotation).keyId, 'b');
});

test('a previous key with acceptUntil is refused from that moment, even for unexpired tokens', () => {
  const clock = manualClock();
  const old = signerWith([KEY_A], clock.now).sign(claims);
  const rotated = signerWith([KEY_B, { ...KEY_A, acceptUntil: clock.ms + 10 }], clock.now);
  clock.ms += 9;
  assert.equal(rotated.verify(old).keyId, 'a');
  clock.ms += 1;
  assert.throws(() => rotated.verify(old), { code: 'UNAUTHORIZED', message: /key 'a', retired at/ });
});

test('inputs that are not tokens are INVALID_ARGUMENT', () => {
  const signer = signerWith([KEY_A], manualClock().now);
  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  const sig = Buffer.alloc(32).toString('base64url');
  const cases: unknown[] = [
    undefined,
    42,
    '',
    'abc',
    'a.b.c',
    `.${sig}`,
    `${b64('{}')}.`,
    `${b64('not json')}.${sig}`,
    `${b64('[1]')}.${sig}`,
    `${b64('null')}.${sig}`,
    `${b64(JSON.stringify({ kid: 'a', pid: 'p', rid: 'r', mdl: 'm', var: 'v', ver: '1', ent: '', iat: 1 }))}.${sig}`,
    `${b64(JSON.stringify({ kid: 'a', pid: 'p', rid: 'r', mdl: 'm', var: 'v', ver: 1, ent: '', iat: 1, exp: 2 }))}.${sig}`,
    `${b64(JSON.stringify({ kid: 'a', pid: 'p', rid: 'r', mdl: 'm', var: 'v', ver: '1', ent: '', iat: 1.5, exp: 2 }))}.${sig}`,
    `${b64('{}')}=.${sig}`,
    `${b64('{}')}.${sig}=`,
    `${b64('{}')}.${'A'.repeat(MAX_FEEDBACK_TOKEN_CHARS)}`,
  ];
  for (const input of cases) assert.equal(rejectionCode(signer, input), 'INVALID_ARGUMENT', `input ${String(input)}`);
});

test('random strings, dotted base64url and well-formed payloads with bad signatures never get through or throw anything but INVALID_ARGUMENT/UNAUTHORIZED', () => {
  const b64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 120 });
  const payloadJson = fc
    .record({ kid: fc.constantFrom('a', 'b', 'z'), pid: fc.string(), rid: fc.string(), mdl: fc.string(), var: fc.string(), ver: fc.string(), ent: fc.string(), iat: fc.integer(), exp: fc.integer() }, { requiredKeys: [] })
    .map((payload) => Buffer.from(JSON.stringify(payload)).toString('base64url'));
  const input = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.tuple(b64url, b64url).map(([left, right]) => `${left}.${right}`),
    fc.tuple(payloadJson, fc.uint8Array({ minLength: 0, maxLength: 40 })).map(([payload, sig]) => `${payload}.${Buffer.from(sig).toString('base64url')}`),
    fc.jsonValue().map((value) => `${Buffer.from(JSON.stringify(value) ?? '').toString('base64url')}.${Buffer.alloc(32).toString('base64url')}`),
  );
  const signer = signerWith([KEY_A, KEY_B], manualClock().now);
  fc.assert(fc.property(input, (token) => assert.ok(REJECTED.includes(rejectionCode(signer, token)))));
});

test('bad key configuration is INVALID_CONFIG', () => {
  const now = manualClock().now;
  assert.throws(() => signerWith([], now), { code: 'INVALID_CONFIG' });
  assert.throws(() => signerWith([{ id: 'short', secret: 'x'.repeat(31) }], now), { code: 'INVALID_CONFIG', message: /31 bytes/ });
  assert.throws(() => signerWith([KEY_A, { ...KEY_B, id: 'a' }], now), { code: 'INVALID_CONFIG', message: /listed twice/ });
  assert.throws(() => signerWith([{ ...KEY_A, id: '' }], now), { code: 'INVALID_CONFIG' });
  assert.throws(() => signerWith([{ ...KEY_A, acceptUntil: 5 }], now), { code: 'INVALID_CONFIG', message: /cannot have acceptUntil/ });
  assert.throws(() => new FeedbackTokenSigner({ keys: [KEY_A], ttlMs: 0, now }), { code: 'INVALID_CONFIG' });
});

test('claims too long for a token are refused at signing time rather than handing out a token feedback would refuse', () => {
  const signer = signerWith([KEY_A], manualClock().now);
  assert.throws(() => signer.sign({ ...claims, entity: 'e'.repeat(MAX_FEEDBACK_TOKEN_CHARS) }), { code: 'INVALID_ARGUMENT' });
});

test('a fractional clock still yields tokens that verify', () => {
  const clock = manualClock(1_700_000_000_000.75);
  const signer = signerWith([KEY_A], clock.now);
  assert.equal(signer.verify(signer.sign(claims)).issuedAt, 1_700_000_000_000);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchJsonObject } from './fetch-json-object.js';

const respond = (response: Response | Promise<Response>) => (async () => response) as unknown as typeof fetch;
const get = (fetchFn: typeof fetch, signal = new AbortController().signal) => fetchJsonObject(fetchFn, 'http://h/x', { signal, budgetMs: 50 });

test('a 2xx JSON object is the body', async () => {
  assert.deepEqual(await get(respond(Response.json({ a: 1 }))), { ok: true, body: { a: 1 } });
});

test('non-2xx is http_status with the status', async () => {
  assert.deepEqual(await get(respond(new Response('oops', { status: 503 }))), { ok: false, reason: 'http_status', status: 503, message: 'HTTP 503' });
});

test('a body that is not JSON, or JSON that is not an object, is invalid_response', async () => {
  for (const text of ['<html>', '[1,2]', 'null', '42', '"s"']) {
    const result = await get(respond(new Response(text, { status: 200 })));
    assert.equal(result.ok ? 'ok' : result.reason, 'invalid_response', text);
  }
});

test('a rejected fetch is network, with the cause undici hides', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const fetchFn = (async () => {
    throw new TypeError('fetch failed', { cause: refused });
  }) as unknown as typeof fetch;
  const result = await get(fetchFn);
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.reason === 'network' && /ECONNREFUSED/.test(result.message), JSON.stringify(result));
});

test('an aborted signal is timeout even when the fetch implementation ignores it', async () => {
  const controller = new AbortController();
  const never = (() => new Promise<Response>(() => undefined)) as unknown as typeof fetch;
  const pending = get(never, controller.signal);
  controller.abort(new DOMException('budget spent', 'TimeoutError'));
  assert.deepEqual(await pending, { ok: false, reason: 'timeout', message: 'no complete response within 50 ms' });
});

test('an abort while the body is read is timeout too', async () => {
  const controller = new AbortController();
  const stalledBody = new ReadableStream({ start: (stream) => stream.enqueue(new TextEncoder().encode('{"a":')) });
  const pending = get(respond(new Response(stalledBody, { status: 200 })), controller.signal);
  await new Promise((resolve) => setImmediate(resolve));
  controller.abort();
  const result = await pending;
  assert.equal(result.ok ? 'ok' : result.reason, 'timeout');
});

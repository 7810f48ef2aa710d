import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchJsonObject } from './fetch-json-object.js';

const respond = (response: Response | Promise<Response>) => (async () => response) as unknown as typeof fetch;
const get = (fetchFn: typeof fetch, signal = new AbortController().signal, maxBytes = 1_024) => fetchJsonObject(fetchFn, 'http://h/x', { signal, budgetMs: 50, maxBytes });

/** A body stream that serves `chunks` then, unless `endless` is false, 1 KiB chunks forever; counts what was pulled and whether it was cancelled. */
function streamedBody(chunks: string[], endless = true) {
  const seen = { pulls: 0, cancelled: false };
  const encoder = new TextEncoder();
  const queue = [...chunks];
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        seen.pulls += 1;
        const next = queue.shift();
        if (next !== undefined) controller.enqueue(encoder.encode(next));
        else if (endless) controller.enqueue(new Uint8Array(1_024).fill(0x20));
        else controller.close();
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, seen };
}

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

test('a Content-Length above the bound is invalid_response without reading the body', async () => {
  const { stream, seen } = streamedBody([]);
  const response = new Response(stream, { status: 200, headers: { 'content-length': String(50 * 1024 * 1024) } });
  const result = await get(respond(response), undefined, 1_024);
  assert.deepEqual(result, { ok: false, reason: 'invalid_response', message: 'body too large: Content-Length 52428800 exceeds the limit of 1024 bytes' });
  assert.equal(seen.pulls, 0, 'nothing was read');
  assert.equal(seen.cancelled, true, 'the body was cancelled, which closes the connection');
});

test('a body without Content-Length is read only until it passes the bound, then cancelled', async () => {
  const { stream, seen } = streamedBody(['{"a":"']);
  const result = await get(respond(new Response(stream, { status: 200 })), undefined, 10 * 1_024);
  assert.deepEqual(result, { ok: false, reason: 'invalid_response', message: 'body too large: more than the limit of 10240 bytes' });
  assert.equal(seen.cancelled, true);
  assert.ok(seen.pulls <= 12, `stopped reading at the bound (${seen.pulls} chunks pulled)`);
});

test('a body of exactly the bound is read, with UTF-8 split across chunks decoded whole', async () => {
  const text = '{"name":"Zoë 😀"}';
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += 3) chunks.push(bytes.slice(offset, offset + 3));
  const stream = new ReadableStream<Uint8Array>({ start: (controller) => (chunks.forEach((chunk) => controller.enqueue(chunk)), controller.close()) });
  assert.deepEqual(await get(respond(new Response(stream, { status: 200 })), undefined, bytes.length), { ok: true, body: { name: 'Zoë 😀' } });
  const tooLong = new ReadableStream<Uint8Array>({ start: (controller) => (controller.enqueue(bytes), controller.close()) });
  const refused = await get(respond(new Response(tooLong, { status: 200 })), undefined, bytes.length - 1);
  assert.equal(refused.ok ? 'ok' : refused.reason, 'invalid_response');
});

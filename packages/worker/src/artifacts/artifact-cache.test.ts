import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { InfermeshError } from '@infermesh/shared';
import { ArtifactCache } from './artifact-cache.js';

const BODY = Buffer.from('model bytes '.repeat(1000));
const SHA = createHash('sha256').update(BODY).digest('hex');
let server: Server;
let base: string;
let requests = 0;
/** Download timeout of the slow-server tests, milliseconds. */
const TRICKLE_TIMEOUT_MS = 1_000;

function trickleAfter(response: ServerResponse, headersAfterMs: number): void {
  const headers = setTimeout(() => {
    response.writeHead(200).flushHeaders();
    const drip = setInterval(() => response.write('x'), 50);
    response.on('close', () => clearInterval(drip));
  }, headersAfterMs);
  response.on('close', () => clearTimeout(headers));
}

before(async () => {
  // A real artifact server: /model serves BODY, /slow never finishes, /late-trickle answers its
  // headers after 0.7x the download timeout, then trickles a byte at a time; anything else is 404.
  server = createServer((request, response) => {
    requests += 1;
    if (request.url === '/model') response.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    else if (request.url === '/slow') response.writeHead(200).write(BODY.subarray(0, 10));
    else if (request.url === '/late-trickle') trickleAfter(response, 0.7 * TRICKLE_TIMEOUT_MS);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const cacheIn = (options: Partial<{ maxBytes: number; timeoutMs: number; maxCacheBytes: number }> = {}) =>
  new ArtifactCache({
    dir: mkdtempSync(join(tmpdir(), 'artifacts-')),
    maxBytes: options.maxBytes ?? 1 << 20,
    timeoutMs: options.timeoutMs ?? 5_000,
    maxCacheBytes: options.maxCacheBytes ?? 1 << 30,
  });
const code = (expected: string) => (error: InfermeshError) => error.code === expected;
const dirOf = (cache: ArtifactCache) => (cache as unknown as { options: { dir: string } }).options.dir;

test('fetches over HTTP into a content-addressed file, then serves cache hits without fetching', async () => {
  const cache = cacheIn();
  const first = await cache.materialize(`${base}/model`, SHA);
  assert.equal(first.cached, false);
  assert.ok(first.path.endsWith(SHA));
  const before = requests;
  const second = await cache.materialize(`${base}/model`, SHA);
  assert.equal(second.cached, true);
  assert.equal(second.path, first.path);
  assert.equal(requests, before, 'no request for a cached artifact');
});

test('a checksum mismatch leaves nothing in the cache', async () => {
  const cache = cacheIn();
  await assert.rejects(cache.materialize(`${base}/model`, 'c'.repeat(64)), code('ARTIFACT_CHECKSUM_MISMATCH'));
  assert.deepEqual(readdirSync(dirOf(cache)), []);
});

test('HTTP 404 is ARTIFACT_NOT_FOUND; over the size limit or past the timeout is ARTIFACT_FETCH_FAILED', async () => {
  await assert.rejects(cacheIn().materialize(`${base}/missing`, SHA), code('ARTIFACT_NOT_FOUND'));
  await assert.rejects(cacheIn({ maxBytes: 100 }).materialize(`${base}/model`, SHA), (error: InfermeshError) => error.code === 'ARTIFACT_FETCH_FAILED' && /limit/.test(error.message));
  await assert.rejects(cacheIn({ timeoutMs: 300 }).materialize(`${base}/slow`, SHA), (error: InfermeshError) => error.code === 'ARTIFACT_FETCH_FAILED' && /took longer than the 300 ms/.test(error.message));
  await assert.rejects(cacheIn().materialize('http://127.0.0.1:1/model', SHA), code('ARTIFACT_FETCH_FAILED'));
});

test('one deadline bounds the whole download: late headers do not buy the body a fresh timeout', async () => {
  const cache = cacheIn({ timeoutMs: TRICKLE_TIMEOUT_MS });
  const started = performance.now();
  await assert.rejects(
    cache.materialize(`${base}/late-trickle`, SHA),
    (error: InfermeshError) => error.code === 'ARTIFACT_FETCH_FAILED' && /took longer than the 1000 ms fetch timeout/.test(error.message),
  );
  const elapsedMs = performance.now() - started;
  // Two deadlines (headers, then body) would end it at 1.7x the timeout at the earliest.
  assert.ok(elapsedMs < 1.6 * TRICKLE_TIMEOUT_MS, `the download ended ${elapsedMs.toFixed(0)} ms after it started`);
  assert.deepEqual(readdirSync(dirOf(cache)), [], 'the partial file is removed');
});

test('the signal handed to fetch is the one that ends the body (a fetch whose body ignores its signal)', async () => {
  let fetchSignal: AbortSignal | undefined;
  let bodyCancelledWith: unknown;
  // A fetch whose body stream does not observe the request's signal: only the cache's own
  // handling of the body can stop it, and it must use the same deadline as the request.
  const fetchIgnoringSignalForBody = (async (_uri: string | URL | Request, init?: RequestInit) => {
    fetchSignal = init?.signal ?? undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(new Uint8Array([1]));
      },
      cancel: (reason) => {
        bodyCancelledWith = reason;
      },
    });
    return new Response(body, { status: 200 });
  }) as typeof fetch;
  const dir = mkdtempSync(join(tmpdir(), 'artifacts-'));
  const cache = new ArtifactCache({ dir, maxBytes: 1 << 20, timeoutMs: 200, maxCacheBytes: 1 << 30 }, fetchIgnoringSignalForBody);
  await assert.rejects(cache.materialize('http://artifacts.invalid/m.onnx', SHA), code('ARTIFACT_FETCH_FAILED'));
  assert.ok(fetchSignal?.aborted, 'the request was given a deadline, and it fired');
  assert.ok(bodyCancelledWith instanceof Error, 'the body was cancelled');
  assert.equal(bodyCancelledWith.cause, fetchSignal.reason, 'the body was ended by the very deadline the request had');
  assert.deepEqual(readdirSync(dir), []);
});

test('file URIs and plain paths are copied and verified; unknown schemes are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'source-'));
  const path = join(dir, 'm.onnx');
  writeFileSync(path, BODY);
  assert.equal((await cacheIn().materialize(`file://${path}`, SHA)).cached, false);
  assert.equal((await cacheIn().materialize(path, SHA)).cached, false);
  await assert.rejects(cacheIn().materialize('s3://bucket/m.onnx', SHA), code('ARTIFACT_NOT_FOUND'));
  await assert.rejects(cacheIn().materialize(join(dir, 'absent'), SHA), code('ARTIFACT_NOT_FOUND'));
});

test('beyond its total size the cache evicts the least recently used artifacts, never the one in use', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'source-'));
  const artifacts = ['a', 'b', 'c'].map((name) => {
    const bytes = Buffer.alloc(1000, name);
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return { path, sha: createHash('sha256').update(bytes).digest('hex') };
  });
  const cache = cacheIn({ maxCacheBytes: 2500 });
  const [a, b, c] = artifacts as [typeof artifacts[0], typeof artifacts[0], typeof artifacts[0]];
  await cache.materialize(a.path, a.sha);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await cache.materialize(b.path, b.sha);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await cache.materialize(a.path, a.sha); // a is used again: b is now the least recent
  await new Promise((resolve) => setTimeout(resolve, 20));
  await cache.materialize(c.path, c.sha);
  const kept = readdirSync(dirOf(cache)).sort();
  assert.deepEqual(kept, [a.sha, c.sha].sort());
  const tiny = cacheIn({ maxCacheBytes: 10 });
  assert.equal((await tiny.materialize(c.path, c.sha)).cached, false, 'an artifact larger than the whole cache is still served');
});

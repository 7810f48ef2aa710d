import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
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

before(async () => {
  // A real artifact server: /model serves BODY, /slow never finishes, anything else is 404.
  server = createServer((request, response) => {
    requests += 1;
    if (request.url === '/model') response.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    else if (request.url === '/slow') response.writeHead(200).write(BODY.subarray(0, 10));
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
  const dir = (cache as unknown as { options: { dir: string } }).options.dir;
  assert.deepEqual(readdirSync(dir), []);
});

test('HTTP 404 is ARTIFACT_NOT_FOUND; over the size limit or past the timeout is ARTIFACT_FETCH_FAILED', async () => {
  await assert.rejects(cacheIn().materialize(`${base}/missing`, SHA), code('ARTIFACT_NOT_FOUND'));
  await assert.rejects(cacheIn({ maxBytes: 100 }).materialize(`${base}/model`, SHA), (error: InfermeshError) => error.code === 'ARTIFACT_FETCH_FAILED' && /limit/.test(error.message));
  await assert.rejects(cacheIn({ timeoutMs: 300 }).materialize(`${base}/slow`, SHA), code('ARTIFACT_FETCH_FAILED'));
  await assert.rejects(cacheIn().materialize('http://127.0.0.1:1/model', SHA), code('ARTIFACT_FETCH_FAILED'));
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
  const kept = readdirSync((cache as unknown as { options: { dir: string } }).options.dir).sort();
  assert.deepEqual(kept, [a.sha, c.sha].sort());
  const tiny = cacheIn({ maxCacheBytes: 10 });
  assert.equal((await tiny.materialize(c.path, c.sha)).cached, false, 'an artifact larger than the whole cache is still served');
});

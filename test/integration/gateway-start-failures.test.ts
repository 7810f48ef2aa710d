import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger, FileKvStore } from '@infermesh/shared';
import { createGateway } from '@infermesh/gateway';
import { Registry } from 'prom-client';
import { testGatewayConfig } from '../support/gateway-config.js';
import { runCli } from '../support/worker-process.js';

/** A hang is the failure under test: a gateway that cannot start must be gone well within this. */
const HANG_LIMIT_MS = 30_000;

let occupied: Server;
let occupiedPort: number;
const registryDir = mkdtempSync(join(tmpdir(), 'gateway-start-failures-'));

before(async () => {
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  occupiedPort = (occupied.address() as AddressInfo).port;
  await new FileKvStore(registryDir).compareAndSet('models/m/config', JSON.stringify({ inputs: {}, tensors: {}, pool: { static: ['127.0.0.1:1'] } }), 0);
});

after(() => new Promise<void>((resolve) => occupied.close(() => resolve())));

test('bad --feedback-keys stop the gateway before it starts anything: usage error, the reason on stderr', async () => {
  for (const keys of ['no-colon', 'k1:too-short', 'k1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,k1:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb']) {
    const result = await runCli(['gateway', '--registry-dir', registryDir, '--port', '0', '--feedback-keys', keys], { timeoutMs: HANG_LIMIT_MS });
    assert.equal(result.timedOut, undefined, `--feedback-keys ${keys}: the process stayed alive`);
    assert.equal(result.code, 2, `--feedback-keys ${keys}: ${result.stderr}`);
    assert.match(result.stderr, /feedback/i);
    assert.doesNotMatch(result.stdout, /gateway listening|model config applied/, 'nothing started');
  }
});

test('a port in use ends the process non-zero, naming the reason, instead of leaving it running without HTTP', async () => {
  const result = await runCli(['gateway', '--registry-dir', registryDir, '--host', '127.0.0.1', '--port', String(occupiedPort)], { timeoutMs: HANG_LIMIT_MS });
  assert.equal(result.timedOut, undefined, 'the process stayed alive');
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot start: \[INVALID_CONFIG\] cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
});

test('createGateway that fails to listen releases what it started: no watcher, timer or socket is left behind', async () => {
  const resources = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap').sort();
  const baseline = resources();
  await assert.rejects(
    createGateway(testGatewayConfig({ registryDir, host: '127.0.0.1', port: occupiedPort }), {
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      registry: new Registry(),
      serverVersion: 'test',
      watchWaitMs: 200,
    }),
    { code: 'INVALID_CONFIG', message: /EADDRINUSE/ },
  );
  // The file registry's poll is a timer: if the catalog kept watching, it would still be listed.
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Nothing may be added (an earlier test's child process may finish meanwhile and remove some).
  const count = (kinds: string[]) => kinds.reduce((counts, kind) => counts.set(kind, (counts.get(kind) ?? 0) + 1), new Map<string, number>());
  const before = count(baseline);
  for (const [kind, number] of count(resources())) assert.ok(number <= (before.get(kind) ?? 0), `a ${kind} was left behind: ${resources().join(', ')} vs ${baseline.join(', ')}`);
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../infra/free-port.js';
import { testConsul } from '../infra/test-infra.js';
import { startHttpLoad } from '../support/http-load.js';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { runCli, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

/** Concurrent REST clients. */
const CALLERS = 16;

async function modelInferCount(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  return Number(/infermesh_worker_grpc_requests_total\{method="ModelInfer",code="OK"\} (\d+)/.exec(text)?.[1] ?? 0);
}

test('through the gateway: Consul-discovered workers share traffic, a new one joins, a stopped one leaves, a killed one is failed over and comes back', async () => {
  const consul = await testConsul();
  const registryArgs = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix];
  const model = uniqueModelName('discovered');
  const artifacts = writeVersionArtifacts();
  assert.equal((await runCli(['models', 'publish', model, 'v1', '--uri', artifacts.v1.path, ...registryArgs])).code, 0);
  assert.equal((await runCli(['models', 'promote', model, 'prod', 'v1', ...registryArgs])).code, 0);
  const configFile = join(mkdtempSync(join(tmpdir(), 'discovery-')), 'config.json');
  writeFileSync(configFile, JSON.stringify(logisticModelConfig({ deployment: 'prod' }, { deadlineMs: 2_000 })));
  assert.equal((await runCli(['models', 'configure', model, '--file', configFile, ...registryArgs])).code, 0);

  const workerArgs = ['--model', model, '--deployment', 'prod', ...registryArgs, '--register'];
  const fixedPort = await freePort();
  const workers: WorkerProcess[] = [];
  after(() => Promise.all(workers.map((worker) => worker.stop())));
  const [a, b] = await Promise.all([startWorkerProcess(workerArgs), startWorkerProcess([...workerArgs, '--port', String(fixedPort)])]);
  workers.push(a!, b!);
  const gateway = await startGatewayProcess(registryArgs);
  after(() => gateway.stop());

  const load = startHttpLoad(`http://127.0.0.1:${gateway.port}/v1/models/${model}/predict`, { inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }, CALLERS);
  after(() => load.stop());
  await eventually('both workers answering', async () => (await modelInferCount(a!)) > 50 && (await modelInferCount(b!)) > 50);

  const c = await startWorkerProcess(workerArgs);
  workers.push(c);
  const joinStarted = performance.now();
  await eventually('the new worker getting traffic', async () => (await modelInferCount(c)) > 0, 10_000, 20);
  const joinMs = performance.now() - joinStarted;

  await c.stop();
  workers.splice(workers.indexOf(c), 1);
  const stoppedCount = await modelInferCount(a!);
  assert.ok(stoppedCount > 0);

  const beforeKill = load.calls.length;
  b!.process.kill('SIGKILL');
  await b!.exited;
  workers.splice(workers.indexOf(b!), 1);
  const aBefore = await modelInferCount(a!);
  await eventually('traffic continuing on the surviving worker', async () => (await modelInferCount(a!)) > aBefore + 200);
  const restarted = await startWorkerProcess([...workerArgs, '--port', String(fixedPort)]);
  workers.push(restarted);
  await eventually('the restarted worker back in rotation', async () => (await modelInferCount(restarted)) > 20, 20_000);

  const completed = [...load.calls];
  const calls = await load.stop();
  const failed = calls.filter((call) => call.status !== 200);
  console.log(`gateway discovery: ${calls.length} REST calls, ${failed.length} failed, all around the SIGKILL; new worker got traffic ${joinMs.toFixed(0)} ms after it was serving`);
  // A join and a graceful stop lose nothing.
  assert.deepEqual(completed.slice(0, beforeKill).filter((call) => call.status !== 200), [], 'no call before the SIGKILL failed');
  // A SIGKILL may fail only predictions already on their way to the killed worker whose answer had
  // begun: those that provably never reached it are retried on another worker, and no others are,
  // so a request that crashed a worker is never sent to the next one. Those were issued before the
  // kill (in issue order, the first `beforeKill + CALLERS`) and are told the worker was unavailable.
  const issuedAfterKill = calls.slice(beforeKill + CALLERS);
  assert.deepEqual(issuedAfterKill.filter((call) => call.status !== 200), [], 'no prediction issued after the SIGKILL failed');
  for (const call of failed) {
    assert.equal(call.status, 503, call.body);
    assert.equal((JSON.parse(call.body) as { error: { code: string } }).error.code, 'UPSTREAM_UNAVAILABLE', call.body);
  }
  assert.ok(joinMs < 3_000, `a newly registered worker gets traffic within about a second (took ${joinMs.toFixed(0)} ms)`);
});

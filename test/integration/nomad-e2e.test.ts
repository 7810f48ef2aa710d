/**
 * The production path end to end: the job files of deploy/nomad run on a real Nomad dev agent
 * (raw_exec, this checkout's CLI) against the suite's Consul and Kafka. Two gateway instances, two
 * worker jobs (deployments a and b of one model, the two variants of an experiment) and the
 * aggregator job become passing in Consul; predictions through a gateway found in the catalog reach
 * both variants; their events arrive in Kafka, and the record the aggregator job publishes under
 * stats/{model} from them is the one both gateways (--experiment-records registry) report; a new model
 * version promoted under load is hot-swapped with no failed request; a new worker build goes
 * through a canary registered with canary_meta and promoted with `nomad deployment promote`; a
 * broken worker build fails its deployment and auto_revert puts the previous job version back while
 * predictions keep answering. Then the periodic retrain job, forced once, publishes and promotes a
 * version.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startNomad, type NomadAgent } from '../infra/nomad-agent.js';
import { deploymentOfVersion, diagnoseJob, jobAllocations, nomadGet, readJob, runningAllocations, type NomadAllocation, type NomadDeployment } from '../infra/nomad-api.js';
import { promoteDeployment, putVariable, runJob, runNomadCli, stopJob, type JobVariables, type NomadCliResult } from '../infra/nomad-cli.js';
import { testConsul, testKafka } from '../infra/test-infra.js';
import { startLoops, type Loops } from '../support/concurrent-loops.js';
import { consumeUntil, type ConsumedEvent } from '../support/events-support.js';
import { eventually } from '../support/load-generator.js';
import { uniqueModelName, writeVersionArtifacts } from '../support/model-versions.js';
import { runCli } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEPLOY_DIR = join(ROOT, 'deploy/nomad');
const GATEWAY_JOB_FILE = join(DEPLOY_DIR, 'infermesh-gateway.nomad.hcl');
const WORKER_JOB_FILE = join(DEPLOY_DIR, 'infermesh-worker.nomad.hcl');
const RETRAIN_JOB_FILE = join(DEPLOY_DIR, 'infermesh-retrain.nomad.hcl');
const AGGREGATOR_JOB_FILE = join(DEPLOY_DIR, 'infermesh-aggregator.nomad.hcl');
/** The gateway job's ID, fixed in its file; its secrets live in the Nomad Variable of the same name. */
const GATEWAY_JOB = 'infermesh-gateway';
/** The aggregator job's ID, fixed in its file. */
const AGGREGATOR_JOB = 'infermesh-aggregator';

/**
 * How the jobs start the CLI here: this checkout's sources through tsx (what every integration test
 * runs), so the test exercises the working tree, never a stale build. In production: the image's entrypoint.
 */
const INFERMESH_COMMAND = [process.execPath, '--import', import.meta.resolve('tsx'), '--conditions=source', join(ROOT, 'packages/cli/src/main.ts')];

/** Gateway instances the job runs. */
const GATEWAY_COUNT = 2;
/** Concurrent prediction clients of the continuous load (the machine has 2 shared cores). */
const LOAD_CALLERS = 4;
/** Predictions of the first check, spread over both gateways and many entities. */
const FIRST_PREDICTIONS = 40;
/** Answers of variant a that must all show the new version before the swap counts as done. */
const SWAPPED_ANSWERS = 20;
/** Milliseconds each load client waits between two predictions: steady traffic that leaves the 2 cores to Nomad and the tasks. */
const LOAD_PAUSE_MS = 20;
/** Milliseconds one prediction may take before it counts as failed. */
const PREDICT_TIMEOUT_MS = 10_000;
/** Milliseconds submitted jobs get to be placed, started and passing in Consul on a busy machine. */
const PASSING_TIMEOUT_MS = 150_000;
/** Milliseconds a deployment gets to reach the state a step waits for. */
const DEPLOYMENT_TIMEOUT_MS = 120_000;
/** Milliseconds the jobs get to stop at the end (shutdown_delay, then the drain of each task). */
const STOP_TIMEOUT_MS = 60_000;
/** Milliseconds between two polls of Nomad or Consul. */
const POLL_INTERVAL_MS = 250;
/** Milliseconds for the first predictions' events to be read from Kafka and counted in a published record. */
const RECORD_TIMEOUT_MS = 60_000;
/** Milliseconds between two records of the aggregator job here (production: 2000). */
const AGGREGATOR_PUBLISH_INTERVAL_MS = 500;
/** MiB of events spool per gateway here: the allocation reserves that much disk (production: 1024). */
const TEST_SPOOL_MAX_MB = 64;

const FEEDBACK_KEYS = `k1:${randomBytes(24).toString('hex')}`;
const ADMIN_TOKEN = randomBytes(16).toString('hex');

/**
 * Test values for the update variables (production defaults stay in the files): quick health decisions,
 * and no progress deadline, so the first unhealthy allocation fails its deployment at once (with one,
 * Nomad reschedules failed allocations until the deadline passes).
 */
const FAST_UPDATES: JobVariables = { min_healthy_time: '2s', healthy_deadline: '90s', progress_deadline: '0s', shutdown_delay: '3s' };

let agent: NomadAgent;
let consulAddr: string;
let kvPrefix: string;
let kafkaBrokers: string;
/** This run's event topics: <prefix>predictions, <prefix>feedback, <prefix>lifecycle. */
let topicPrefix: string;
let model: string;
let registryArgs: string[];
let artifacts: ReturnType<typeof writeVersionArtifacts>;
let gateways: string[] = [];
/** The answers of the first predictions (and the one rewarded), whose events and trials the record test follows. */
const firstAnswers: Omit<Answer, 'phase'>[] = [];
let rewardedPredictionId: string | undefined;
let load: Loops<Answer> | undefined;
/** The step the load's requests are issued in, so failures can be told apart by step. */
let phase = 'setup';
const jobsToStop = new Set<string>();
const scratchDirs: string[] = [];

/** One prediction of the load. */
interface Answer {
  phase: string;
  status: number;
  variant?: string;
  version?: string;
  predictionId?: string;
  error?: string;
}

interface CatalogEntry {
  Service: { ID: string; Address: string; Port: number; Tags: string[] | null; Meta: Record<string, string> | null };
}

function describeResult(result: NomadCliResult): string {
  return `exit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

function workerJobId(deployment: string): string {
  return `infermesh-worker-${model}-${deployment}`;
}

/** What every job of this test's mesh is told: where Consul, its KV prefix and Kafka are, and how to run infermesh. */
function meshVariables(): JobVariables {
  return {
    consul_address: consulAddr,
    kv_prefix: kvPrefix,
    kafka_brokers: kafkaBrokers,
    events_topic_prefix: topicPrefix,
    infermesh_command: JSON.stringify(INFERMESH_COMMAND),
  };
}

function workerVariables(deployment: string, overrides: JobVariables = {}): JobVariables {
  return {
    model,
    deployment,
    count: 1,
    cpu: 100,
    memory: 256,
    ...meshVariables(),
    ...FAST_UPDATES,
    ...overrides,
  };
}

async function submit(jobFile: string, jobId: string, variables: JobVariables): Promise<void> {
  jobsToStop.add(jobId);
  const result = await runJob(agent, jobFile, variables);
  assert.equal(result.exitCode, 0, `nomad job run ${jobId}:\n${describeResult(result)}`);
}

async function passing(service: string): Promise<CatalogEntry[]> {
  const response = await fetch(`${consulAddr}/v1/health/service/${service}?passing=true`, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as CatalogEntry[];
}

/** Passing catalog instances registered for the job's running allocations (Nomad puts the allocation ID in the service ID). */
async function passingOfJob(service: string, jobId: string): Promise<CatalogEntry[]> {
  const allocations = await runningAllocations(agent, jobId);
  return (await passing(service)).filter((entry) => allocations.some((allocation) => entry.Service.ID.includes(allocation.ID)));
}

/** Passing workers of this test's model following `deployment`. */
async function passingWorkers(deployment: string): Promise<CatalogEntry[]> {
  return (await passing('infermesh-worker')).filter((entry) => entry.Service.Meta?.model === model && entry.Service.Meta?.deployment === deployment);
}

/** `eventually`, with what the jobs' allocations were doing appended when it times out. */
async function eventuallyWithJobs(what: string, predicate: () => Promise<boolean>, timeoutMs: number, jobIds: readonly string[] | (() => readonly string[])): Promise<void> {
  try {
    await eventually(what, predicate, timeoutMs, POLL_INTERVAL_MS);
  } catch (error) {
    const diagnoses = await Promise.all((typeof jobIds === 'function' ? jobIds() : jobIds).map((jobId) => diagnoseJob(agent, jobId)));
    throw new Error(`${(error as Error).message}\n${diagnoses.join('\n')}`, { cause: error });
  }
}

async function waitForDeployment(jobId: string, version: number, what: string, predicate: (deployment: NomadDeployment) => boolean): Promise<NomadDeployment> {
  let found: NomadDeployment | undefined;
  await eventuallyWithJobs(
    `${jobId} version ${version}: ${what}`,
    async () => {
      found = await deploymentOfVersion(agent, jobId, version);
      return found !== undefined && predicate(found);
    },
    DEPLOYMENT_TIMEOUT_MS,
    [jobId],
  );
  return found!;
}

async function predict(gateway: string, userId: string): Promise<Omit<Answer, 'phase'>> {
  try {
    const response = await fetch(`${gateway}/v1/models/${model}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
      signal: AbortSignal.timeout(PREDICT_TIMEOUT_MS),
    });
    const text = await response.text();
    const body = JSON.parse(text) as { variant?: string; version?: string; predictionId?: string; default?: boolean };
    // A default output is an answer the model did not give: count it as a failure.
    if (response.status !== 200 || body.default === true) return { status: response.status === 200 ? 299 : response.status, error: text.slice(0, 300) };
    return {
      status: 200,
      ...(body.variant === undefined ? {} : { variant: body.variant }),
      ...(body.version === undefined ? {} : { version: body.version }),
      ...(body.predictionId === undefined ? {} : { predictionId: body.predictionId }),
    };
  } catch (error) {
    return { status: 0, error: (error as Error).message };
  }
}

function failuresOf(answers: readonly Answer[], inPhase?: string): Answer[] {
  return answers.filter((answer) => answer.status !== 200 && (inPhase === undefined || answer.phase === inPhase));
}

function summarize(answers: readonly Answer[]): string {
  const failures = failuresOf(answers);
  return `${answers.length} predictions, ${failures.length} failed${failures.length > 0 ? `, e.g. ${JSON.stringify(failures.slice(0, 3))}` : ''}`;
}

async function putKv(key: string, value: unknown): Promise<void> {
  const response = await fetch(`${consulAddr}/v1/kv/${kvPrefix}${key}`, { method: 'PUT', body: JSON.stringify(value) });
  assert.equal(response.status, 200, `PUT ${key}`);
}

async function cli(args: readonly string[]): Promise<void> {
  const result = await runCli([...args, ...registryArgs]);
  assert.equal(result.code, 0, `infermesh ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
}

const experiment = {
  entityKey: 'userId',
  policy: { type: 'weighted' },
  variants: [
    { name: 'a', weight: 1, pool: { deployment: 'a' } },
    { name: 'b', weight: 1, pool: { deployment: 'b' } },
  ],
};

before(async () => {
  const [consul, kafka] = await Promise.all([testConsul(), testKafka()]);
  consulAddr = consul.httpAddr;
  kafkaBrokers = kafka.brokers.join(',');
  topicPrefix = `${kafka.topic('nomad')}.`;
  // One prefix per run: the registry keys of this run are its own, whatever else uses this Consul.
  kvPrefix = consul.prefix;
  registryArgs = ['--consul', consulAddr, '--kv-prefix', kvPrefix];
  model = uniqueModelName('nomad');
  artifacts = writeVersionArtifacts();
  scratchDirs.push(dirname(artifacts.v1.path));

  const startedAt = Date.now();
  await Promise.all([
    // Kept as soon as it runs, so `after` stops it even if the registry set-up fails.
    startNomad({ consulAddress: consulAddr }).then((started) => (agent = started)),
    (async () => {
      await cli(['models', 'publish', model, 'v1', '--uri', `file://${artifacts.v1.path}`]);
      await cli(['models', 'promote', model, 'a', 'v1']);
      await cli(['models', 'promote', model, 'b', 'v1']);
      const configDir = mkdtempSync(join(tmpdir(), 'nomad-e2e-config-'));
      scratchDirs.push(configDir);
      const configFile = join(configDir, 'config.json');
      writeFileSync(configFile, JSON.stringify(logisticModelConfig({ deployment: 'a' }, { entityKeys: ['userId'], deadlineMs: 5_000 })));
      await cli(['models', 'configure', model, '--file', configFile]);
      await putKv(`experiments/${model}`, experiment);
    })(),
  ]);
  console.log(`nomad e2e: agent and registry ready in ${Date.now() - startedAt} ms`);
});

after(async () => {
  await load?.stop();
  if (agent !== undefined) {
    await Promise.all([...jobsToStop].map((jobId) => stopJob(agent, jobId)));
    // Tasks stopped by Nomad deregister and exit cleanly; the agent's own stop would have to kill them.
    await eventually(
      'every allocation stopped',
      async () => (await nomadGet<NomadAllocation[]>(agent, '/v1/allocations')).every((allocation) => allocation.ClientStatus !== 'running' && allocation.ClientStatus !== 'pending'),
      STOP_TIMEOUT_MS,
      POLL_INTERVAL_MS,
    ).catch((error: Error) => console.log(`nomad e2e: ${error.message}; stopping the agent anyway`));
    await agent.stop();
  }
  if (consulAddr !== undefined) await fetch(`${consulAddr}/v1/kv/${kvPrefix}?recurse`, { method: 'DELETE' }).catch(() => undefined);
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

test('the gateway job (2 instances, secrets from a Nomad Variable), two worker jobs and the aggregator job become passing in Consul', async (t) => {
  const put = await putVariable(agent, `nomad/jobs/${GATEWAY_JOB}`, { feedback_keys: FEEDBACK_KEYS, admin_token: ADMIN_TOKEN });
  assert.equal(put.exitCode, 0, describeResult(put));

  const submittedAt = Date.now();
  await Promise.all([
    submit(GATEWAY_JOB_FILE, GATEWAY_JOB, {
      count: GATEWAY_COUNT,
      cpu: 100,
      memory: 256,
      ...meshVariables(),
      // Both instances route by the aggregator job's records, counted from both instances' events in Kafka.
      experiment_records: 'registry',
      spool_max_mb: TEST_SPOOL_MAX_MB,
      ...FAST_UPDATES,
    }),
    submit(WORKER_JOB_FILE, workerJobId('a'), workerVariables('a')),
    submit(WORKER_JOB_FILE, workerJobId('b'), workerVariables('b')),
    submit(AGGREGATOR_JOB_FILE, AGGREGATOR_JOB, {
      count: 1,
      cpu: 100,
      memory: 256,
      ...meshVariables(),
      // The group also names the partition states in KV: one of this run's own.
      group_id: `nomad-e2e-${randomBytes(4).toString('hex')}`,
      publish_interval_ms: AGGREGATOR_PUBLISH_INTERVAL_MS,
    }),
  ]);

  let progress = '';
  await eventuallyWithJobs(
    'two gateways, the workers of deployments a and b and the aggregator passing in Consul',
    async () => {
      const counts = [
        (await passingOfJob('infermesh-gateway', GATEWAY_JOB)).length,
        (await passingWorkers('a')).length,
        (await passingWorkers('b')).length,
        (await passingOfJob('infermesh-aggregator', AGGREGATOR_JOB)).length,
      ];
      progress = `passing: ${counts.join('/')} (gateways/a/b/aggregator)`;
      return counts.join() === [GATEWAY_COUNT, 1, 1, 1].join();
    },
    PASSING_TIMEOUT_MS,
    [GATEWAY_JOB, workerJobId('a'), workerJobId('b'), AGGREGATOR_JOB],
  ).catch((error: Error) => {
    throw new Error(`${progress}\n${error.message}`, { cause: error });
  });
  t.diagnostic(`all passing ${Date.now() - submittedAt} ms after job run`);
  gateways = (await passingOfJob('infermesh-gateway', GATEWAY_JOB)).map((entry) => `http://${entry.Service.Address}:${entry.Service.Port}`);
  assert.equal(new Set(gateways).size, GATEWAY_COUNT);

  // The worker registrations carry the meta the gateway selects pools by, and are not canaries.
  const meta = (await passingWorkers('a'))[0]?.Service.Meta ?? {};
  assert.deepEqual({ model: meta.model, deployment: meta.deployment, build: meta.build, canary: meta.canary }, { model, deployment: 'a', build: '1', canary: 'false' });
});

test('predictions through the gateways found in the catalog: every answer 200, both variants, one shared key set', async () => {
  assert.equal(gateways.length, GATEWAY_COUNT, 'the gateways are up');
  const answers: Omit<Answer, 'phase'>[] = [];
  for (let index = 0; index < FIRST_PREDICTIONS; index += 1) answers.push(await predict(gateways[index % gateways.length]!, `first-${index}`));
  firstAnswers.push(...answers);
  assert.deepEqual(answers.filter((answer) => answer.status !== 200), []);
  assert.deepEqual([...new Set(answers.map((answer) => answer.variant))].sort(), ['a', 'b']);
  assert.deepEqual([...new Set(answers.map((answer) => answer.version))], ['v1']);

  // A feedback token signed by one instance is accepted by the other: both read the same keys from the Nomad Variable.
  const response = await fetch(`${gateways[0]}/v1/models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId: 'feedback-user' }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  assert.equal(response.status, 200);
  const { feedbackToken, predictionId, variant } = (await response.json()) as { feedbackToken: string; predictionId: string; variant: string };
  firstAnswers.push({ status: 200, variant, predictionId });
  rewardedPredictionId = predictionId;
  const feedback = await fetch(`${gateways[1]}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feedbackToken, reward: 1 }) });
  assert.equal(feedback.status, 202, await feedback.text());

  // The admin token from the Variable guards PUT /v1/experiments.
  const putExperiment = (token: string) =>
    fetch(`${gateways[1]}/v1/experiments/${model}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(experiment) });
  assert.equal((await putExperiment('not-the-token')).status, 401);
  const accepted = await putExperiment(ADMIN_TOKEN);
  assert.equal(accepted.status, 200, await accepted.text());
});

interface PublishedRecord {
  sequence: number;
  variants: Record<string, { trials: number; rewardSum: number }>;
  offsets?: Record<string, string>;
}

interface ExperimentView {
  record: { sequence: number } | null;
  variants: { name: string; trials: number; rewards: number }[];
}

test('the gateways publish their events to Kafka; both report the record the aggregator job counts from them', async (t) => {
  assert.equal(firstAnswers.length, FIRST_PREDICTIONS + 1, 'the first predictions were answered');
  const startedAt = Date.now();
  const predictionIds = new Set(firstAnswers.map((answer) => answer.predictionId));
  const servedOf = (events: readonly ConsumedEvent[]) =>
    events.filter((event) => event.envelope.type === 'infermesh.prediction.served' && predictionIds.has((event.envelope.data as { predictionId: string }).predictionId));
  const rewardOf = (events: readonly ConsumedEvent[]) =>
    events.filter((event) => event.envelope.type === 'infermesh.feedback.received' && (event.envelope.data as { predictionId: string }).predictionId === rewardedPredictionId);
  const events = await consumeUntil(
    kafkaBrokers.split(','),
    [`${topicPrefix}predictions`, `${topicPrefix}feedback`],
    (consumed) => new Set(servedOf(consumed).map((event) => (event.envelope.data as { predictionId: string }).predictionId)).size === predictionIds.size && rewardOf(consumed).length > 0,
    RECORD_TIMEOUT_MS,
  );
  t.diagnostic(`every prediction and the feedback read from Kafka ${Date.now() - startedAt} ms after the test began`);
  const served = servedOf(events);
  // Each gateway instance published its own share: two sources, the model and variants the clients were answered with.
  assert.equal(new Set(served.map((event) => event.envelope.source)).size, GATEWAY_COUNT, 'events from both gateway instances');
  for (const event of served) {
    const data = event.envelope.data as { predictionId: string; model: string; variant: string };
    assert.equal(data.model, model);
    assert.equal(data.variant, firstAnswers.find((answer) => answer.predictionId === data.predictionId)?.variant);
  }

  // The aggregator job counts them: one trial per prediction, the one reward, nothing twice.
  const expected = Object.fromEntries(['a', 'b'].map((name) => [name, {
    trials: firstAnswers.filter((answer) => answer.variant === name).length,
    rewardSum: firstAnswers.some((answer) => answer.variant === name && answer.predictionId === rewardedPredictionId) ? 1 : 0,
  }]));
  const readRecord = async (): Promise<PublishedRecord | undefined> => {
    const response = await fetch(`${consulAddr}/v1/kv/${kvPrefix}stats/${model}?raw`, { signal: AbortSignal.timeout(5_000) });
    return response.status === 200 ? ((await response.json()) as PublishedRecord) : undefined;
  };
  let record: PublishedRecord | undefined;
  await eventuallyWithJobs(
    `a record at stats/${model} counting ${FIRST_PREDICTIONS + 1} trials and the reward`,
    async () => {
      record = await readRecord();
      const variants = Object.values(record?.variants ?? {});
      return variants.reduce((sum, variant) => sum + variant.trials, 0) >= FIRST_PREDICTIONS + 1 && variants.some((variant) => variant.rewardSum > 0);
    },
    RECORD_TIMEOUT_MS,
    [AGGREGATOR_JOB],
  );
  t.diagnostic(`record ${record!.sequence} counting them ${Date.now() - startedAt} ms after the test began`);
  assert.deepEqual(Object.fromEntries(Object.entries(record!.variants).map(([name, variant]) => [name, { trials: variant.trials, rewardSum: variant.rewardSum }])), expected);
  // Published by the aggregator service: it names the Kafka offsets it sums up to, per partition of this run's topics.
  assert.ok(Object.keys(record!.offsets ?? {}).some((key) => key.startsWith(`${topicPrefix}predictions/`)), JSON.stringify(record!.offsets));

  // Both gateways route by that record (they count nothing themselves in registry mode).
  let views: ExperimentView[] = [];
  await eventually(
    'both gateways reporting the published evidence',
    async () => {
      views = await Promise.all(gateways.map(async (gateway) => (await (await fetch(`${gateway}/v1/experiments/${model}`)).json()) as ExperimentView));
      return views.every((view) => view.record !== null && view.variants.every((variant) => variant.trials === expected[variant.name]?.trials));
    },
    30_000,
  );
  const latest = await readRecord();
  for (const view of views) {
    assert.deepEqual(view.variants.map((variant) => [variant.name, variant.trials, variant.rewards]), ['a', 'b'].map((name) => [name, expected[name]!.trials, expected[name]!.rewardSum]));
    assert.ok(view.record!.sequence <= latest!.sequence, `a gateway reports record ${view.record!.sequence}, published ${latest!.sequence}`);
  }
});

test('a new version promoted on deployment a under load: the workers swap to it, no request fails', async (t) => {
  assert.equal(gateways.length, GATEWAY_COUNT, 'the gateways are up');
  phase = 'promote';
  load = startLoops(LOAD_CALLERS, async (seq) => {
    const answer: Answer = { phase, ...(await predict(gateways[seq % gateways.length]!, `load-${seq}`)) };
    await sleep(LOAD_PAUSE_MS);
    return answer;
  });
  const calls = load.calls;
  await eventually('load answered on both variants', () => new Set(calls.map((answer) => answer.variant)).size === 2, 30_000);

  await cli(['models', 'publish', model, 'v2', '--uri', `file://${artifacts.v2.path}`]);
  const promotedAt = Date.now();
  const promotedFrom = calls.length;
  await cli(['models', 'promote', model, 'a', 'v2']);
  await eventually(
    `the last ${SWAPPED_ANSWERS} answers of variant a from v2`,
    () => {
      const recent = calls.slice(promotedFrom).filter((answer) => answer.variant === 'a').slice(-SWAPPED_ANSWERS);
      return recent.length === SWAPPED_ANSWERS && recent.every((answer) => answer.version === 'v2');
    },
    60_000,
  );
  t.diagnostic(`variant a answered from v2 within ${Date.now() - promotedAt} ms of the promotion`);
  const afterPromotion = calls.slice(promotedFrom);
  assert.ok(afterPromotion.some((answer) => answer.variant === 'b'), 'variant b kept answering');
  assert.ok(afterPromotion.filter((answer) => answer.variant === 'b').every((answer) => answer.version === 'v1'), 'deployment b still serves v1');
  assert.deepEqual(failuresOf(calls, 'promote'), [], summarize(calls));
});

test('a new worker build goes through a canary: registered with canary_meta, promoted with `nomad deployment promote`', async (t) => {
  assert.ok(load !== undefined, 'the load runs');
  phase = 'canary';
  const jobId = workerJobId('a');
  const previous = await readJob(agent, jobId);
  assert.equal(previous?.Version, 0);
  const [oldAllocation] = await runningAllocations(agent, jobId);
  assert.ok(oldAllocation);
  const startedAt = Date.now();
  await submit(WORKER_JOB_FILE, jobId, workerVariables('a', { build: '2' }));

  const waiting = await waitForDeployment(jobId, 1, 'a healthy canary waiting for promotion', (deployment) => {
    const group = deployment.TaskGroups.worker;
    return deployment.Status === 'running' && group !== undefined && (group.PlacedCanaries?.length ?? 0) === 1 && group.HealthyAllocs === 1 && !group.Promoted;
  });
  const canaryId = waiting.TaskGroups.worker!.PlacedCanaries![0]!;
  t.diagnostic(`canary healthy ${Date.now() - startedAt} ms after job run; deployment: ${waiting.StatusDescription}`);

  // Both builds serve side by side; the canary is told apart by canary_meta and canary_tags.
  await eventuallyWithJobs('the canary passing in Consul', async () => (await passingWorkers('a')).some((entry) => entry.Service.ID.includes(canaryId)), 30_000, [jobId]);
  const registered = await passingWorkers('a');
  const canary = registered.find((entry) => entry.Service.ID.includes(canaryId));
  const old = registered.find((entry) => entry.Service.ID.includes(oldAllocation.ID));
  assert.equal(canary?.Service.Meta?.canary, 'true');
  assert.equal(canary?.Service.Meta?.build, '2');
  assert.equal(canary?.Service.Meta?.model, model, 'a canary keeps the meta the gateway selects pools by');
  assert.ok(canary?.Service.Tags?.includes('canary'));
  assert.equal(old?.Service.Meta?.canary, 'false', 'the old build still serves, not as a canary');
  assert.equal(old?.Service.Meta?.build, '1');

  const promoted = await promoteDeployment(agent, waiting.ID);
  assert.equal(promoted.exitCode, 0, describeResult(promoted));
  const done = await waitForDeployment(jobId, 1, 'deployment successful', (deployment) => deployment.Status === 'successful');
  t.diagnostic(`promoted; deployment ${done.Status} (${done.StatusDescription}) ${Date.now() - startedAt} ms after job run`);

  // The promoted canary is the deployment's only instance now, registered as a regular one.
  await eventuallyWithJobs(
    'only the promoted build in the catalog, without the canary mark',
    async () => {
      const entries = await passingWorkers('a');
      return entries.length === 1 && entries[0]!.Service.ID.includes(canaryId) && entries[0]!.Service.Meta?.canary === 'false';
    },
    30_000,
    [jobId],
  );
  // The old build is stopped only after it left the catalog (shutdown_delay): wait for its end to count its requests here.
  await eventuallyWithJobs(
    'the old build stopped',
    async () => (await jobAllocations(agent, jobId)).some((allocation) => allocation.ID === oldAllocation.ID && allocation.ClientStatus === 'complete'),
    30_000,
    [jobId],
  );
  assert.equal((await readJob(agent, jobId))?.Stable, true);
  assert.deepEqual(failuresOf(load.calls, 'canary'), [], summarize(load.calls));
});

test('a broken worker build fails its deployment, auto_revert restores the previous job version, predictions keep answering', async (t) => {
  assert.ok(load !== undefined, 'the load runs');
  phase = 'revert';
  const jobId = workerJobId('a');
  assert.equal((await readJob(agent, jobId))?.Version, 1, 'the canary step left version 1');
  const [serving] = await runningAllocations(agent, jobId);
  assert.ok(serving);
  const startedAt = Date.now();
  // A build whose command exits 1 at once: it never becomes healthy. No restarts in place, so its allocation
  // fails at once instead of after two restart delays (the only test shortcut of this step).
  await submit(WORKER_JOB_FILE, jobId, workerVariables('a', { build: '3', infermesh_command: JSON.stringify(['/bin/false']), restart_attempts: 0 }));

  const failed = await waitForDeployment(jobId, 2, 'deployment failed', (deployment) => deployment.Status === 'failed');
  t.diagnostic(`deployment failed ${Date.now() - startedAt} ms after job run: ${failed.StatusDescription}`);
  assert.match(failed.StatusDescription, /rolling back/i);

  let reverted: Awaited<ReturnType<typeof readJob>>;
  await eventuallyWithJobs(
    'the job reverted to the build of version 1',
    async () => {
      reverted = await readJob(agent, jobId);
      return reverted !== undefined && reverted.Version > 2 && reverted.Meta?.build === '2';
    },
    DEPLOYMENT_TIMEOUT_MS,
    [jobId],
  );
  t.diagnostic(`reverted to build 2 as job version ${reverted!.Version} ${Date.now() - startedAt} ms after job run`);
  const allocations = await jobAllocations(agent, jobId);
  const broken = allocations.filter((allocation) => allocation.JobVersion === 2);
  assert.ok(broken.length > 0 && broken.every((allocation) => allocation.ClientStatus === 'failed' || allocation.DesiredStatus !== 'run'), JSON.stringify(broken));

  // The allocation that served before the broken build still does, and still passes.
  const running = await runningAllocations(agent, jobId);
  assert.deepEqual(running.map((allocation) => allocation.ID), [serving.ID]);
  const registered = await passingWorkers('a');
  assert.deepEqual(registered.map((entry) => entry.Service.ID.includes(serving.ID)), [true]);

  // Predictions keep coming after the revert too.
  const count = load.calls.length;
  await eventually('more predictions after the revert', () => load!.calls.length > count + 50, 30_000);
  const answers = await load.stop();
  load = undefined;
  const byPhase = ['promote', 'canary', 'revert'].map((name) => `${name}: ${answers.filter((answer) => answer.phase === name).length}`).join(', ');
  console.log(`nomad e2e load: ${summarize(answers)} (${byPhase})`);
  assert.deepEqual(failuresOf(answers), [], summarize(answers));
  assert.deepEqual([...new Set(answers.filter((answer) => answer.phase === 'revert').map((answer) => answer.variant))].sort(), ['a', 'b']);
});

test('the periodic retrain job, forced once, publishes a new version and promotes it to the canary deployment', async (t) => {
  const retrained = uniqueModelName('retrain');
  const artifactDir = mkdtempSync(join(tmpdir(), 'nomad-e2e-artifacts-'));
  scratchDirs.push(artifactDir);
  const jobId = `infermesh-retrain-${retrained}`;
  await submit(RETRAIN_JOB_FILE, jobId, {
    model: retrained,
    consul_address: consulAddr,
    kv_prefix: kvPrefix,
    artifact_dir: artifactDir,
    // The example's training step: the repository's fixture generator, from this checkout.
    train_command: JSON.stringify([process.execPath, '--import', import.meta.resolve('tsx'), join(ROOT, 'test/fixtures/generate-fixtures.ts')]),
    train_cpu: 100,
    train_memory: 256,
    infermesh_command: JSON.stringify(INFERMESH_COMMAND),
  });
  const startedAt = Date.now();
  const forced = await runNomadCli(agent, ['job', 'periodic', 'force', '-detach', jobId]);
  assert.equal(forced.exitCode, 0, describeResult(forced));

  let child = '';
  await eventuallyWithJobs(
    'the forced launch complete',
    async () => {
      const jobs = (await (await fetch(`${agent.address}/v1/jobs?prefix=${encodeURIComponent(`${jobId}/periodic-`)}`)).json()) as { ID: string }[];
      child = jobs[0]?.ID ?? '';
      if (child === '') return false;
      const allocations = await jobAllocations(agent, child);
      const failedAllocation = allocations.find((allocation) => allocation.ClientStatus === 'failed');
      if (failedAllocation !== undefined) throw new Error(`the retrain launch failed: allocation ${failedAllocation.ID}`);
      return allocations.some((allocation) => allocation.ClientStatus === 'complete');
    },
    DEPLOYMENT_TIMEOUT_MS,
    () => (child === '' ? [jobId] : [child]),
  );
  t.diagnostic(`retrain launch ${child} complete ${Date.now() - startedAt} ms after the force`);

  const read = async <T>(key: string): Promise<T> => {
    const response = await fetch(`${consulAddr}/v1/kv/${kvPrefix}${key}?raw`);
    assert.equal(response.status, 200, `${key} exists`);
    return (await response.json()) as T;
  };
  const canary = await read<{ version: string }>(`models/${retrained}/deployments/canary`);
  // Named after the launch: the child job is <job>/periodic-<unix seconds>.
  const launchedAt = Number(child.split('/periodic-')[1]);
  assert.equal(canary.version, new Date(launchedAt * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z'));
  const version = await read<{ uri: string; sha256: string; metadata: Record<string, string> }>(`models/${retrained}/versions/${canary.version}`);
  const artifactPath = fileURLToPath(version.uri);
  assert.ok(artifactPath.startsWith(`${artifactDir}/`), `${version.uri} is kept in the artifact dir`);
  assert.equal(createHash('sha256').update(readFileSync(artifactPath)).digest('hex'), version.sha256);
  assert.equal(version.metadata.trainedBy, child);
});

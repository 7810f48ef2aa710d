import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startNomad, type NomadAgent } from '../infra/nomad-agent.js';
import { renderJob, runJob, stopJob, validateJob, type JobVariables, type NomadCliResult } from '../infra/nomad-cli.js';
import { testConsul } from '../infra/test-infra.js';
import { eventually } from '../support/load-generator.js';

const DEPLOY_DIR = fileURLToPath(new URL('../../deploy/nomad/', import.meta.url));

/** The job file the broken-copy test corrupts. */
const WORKER_JOB = 'infermesh-worker.nomad.hcl';
const GATEWAY_JOB = 'infermesh-gateway.nomad.hcl';
const AGGREGATOR_JOB = 'infermesh-aggregator.nomad.hcl';
const RETRAIN_JOB = 'infermesh-retrain.nomad.hcl';
/** The job files deploy/nomad must hold: the gateway, the workers, the aggregator and the periodic retrain. */
const EXPECTED_JOBS = [AGGREGATOR_JOB, GATEWAY_JOB, RETRAIN_JOB, WORKER_JOB];

/**
 * Values for the HCL variables a job file declares without a default: `nomad job validate` refuses
 * ("Unset variable") a file whose variables are neither defaulted nor passed with -var.
 */
const REQUIRED_VARIABLES: Readonly<Record<string, JobVariables>> = {
  [WORKER_JOB]: { model: 'validate-model' },
  [AGGREGATOR_JOB]: { kafka_brokers: '127.0.0.1:9092' },
  [RETRAIN_JOB]: { model: 'validate-model' },
};

/** Milliseconds a submitted service job gets to be placed, started and reported passing by Consul. */
const SERVICE_PASSING_TIMEOUT_MS = 90_000;

/** Milliseconds a stopped job's service gets to leave the Consul catalog. */
const SERVICE_GONE_TIMEOUT_MS = 30_000;

/** Milliseconds between two Consul polls. */
const POLL_INTERVAL_MS = 250;

let agent: NomadAgent;
let agentReadyMs: number;
let consulAddr: string;
let scratchDir: string;

before(async () => {
  consulAddr = (await testConsul()).httpAddr;
  scratchDir = await mkdtemp(join(tmpdir(), 'infermesh-nomad-jobs-'));
  const startedAt = Date.now();
  agent = await startNomad({ consulAddress: consulAddr });
  agentReadyMs = Date.now() - startedAt;
});

after(async () => {
  await agent?.stop();
  if (scratchDir !== undefined) await rm(scratchDir, { recursive: true, force: true });
});

function describe(result: NomadCliResult): string {
  return `exit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

test('every deploy/nomad job file passes a real `nomad job validate`', async (t) => {
  t.diagnostic(`dev agent ready ${agentReadyMs} ms after startNomad()`);
  const jobFiles = (await readdir(DEPLOY_DIR)).filter((name) => name.endsWith('.nomad.hcl')).sort();
  for (const expected of EXPECTED_JOBS) assert.ok(jobFiles.includes(expected), `${expected} is among the job files: ${jobFiles.join(', ')}`);
  for (const name of jobFiles) {
    const result = await validateJob(agent, join(DEPLOY_DIR, name), REQUIRED_VARIABLES[name]);
    assert.equal(result.exitCode, 0, `${name} must validate:\n${describe(result)}`);
    // Validated by the agent (driver config included), not only parsed locally.
    assert.doesNotMatch(result.stdout, /Driver configuration not validated/, `${name}: the agent did the validation`);
  }
});

/** The parts of a rendered job (`nomad job run -output`) the promises below are about. */
interface RenderedJob {
  ID: string;
  Type: string;
  Periodic?: { Specs?: string[]; ProhibitOverlap?: boolean } | null;
  TaskGroups: {
    Count: number;
    Update?: { Canary: number; AutoRevert: boolean; AutoPromote: boolean; MaxParallel: number } | null;
    Services?: RenderedService[] | null;
    Tasks: { Name: string; Driver: string; Config: { command: string; args?: string[] }; Env?: Record<string, string> | null; Templates?: { EmbeddedTmpl: string; Envvars: boolean }[] | null; Services?: RenderedService[] | null }[];
  }[];
}

interface RenderedService {
  Name: string;
  Meta?: Record<string, string> | null;
  CanaryMeta?: Record<string, string> | null;
  Checks?: { Type: string; Path?: string; GRPCService?: string }[] | null;
}

async function render(name: string, variables: JobVariables = {}): Promise<RenderedJob> {
  return (await renderJob(agent, join(DEPLOY_DIR, name), { ...REQUIRED_VARIABLES[name], ...variables })) as unknown as RenderedJob;
}

function servicesOf(job: RenderedJob): RenderedService[] {
  return job.TaskGroups.flatMap((group) => [...(group.Services ?? []), ...group.Tasks.flatMap((task) => task.Services ?? [])]);
}

test('the job files keep their operational promises (rendered by nomad: checks, updates, canaries, secrets, schedule)', async () => {
  const launcher = ['/usr/bin/node', '/opt/infermesh/packages/cli/bin/infermesh.mjs'];

  const gateway = await render(GATEWAY_JOB, { infermesh_command: JSON.stringify(launcher) });
  const [gatewayGroup] = gateway.TaskGroups;
  assert.ok(gatewayGroup !== undefined && gatewayGroup.Count >= 2, 'several gateway instances by default');
  assert.equal(gatewayGroup.Update?.AutoRevert, true);
  const gatewayService = servicesOf(gateway).find((service) => service.Name === 'infermesh-gateway');
  assert.deepEqual(gatewayService?.Checks?.map((check) => [check.Type, check.Path]), [['http', '/readyz']]);
  const [gatewayTask] = gatewayGroup.Tasks;
  assert.equal(gatewayTask?.Config.command, launcher[0], 'the CLI is started through the infermesh_command variable');
  assert.deepEqual(gatewayTask?.Config.args?.slice(0, 2), [launcher[1], 'gateway']);
  // Secrets come from the job's Nomad Variable, rendered into the environment, never from the job text.
  const secrets = gatewayTask?.Templates?.find((template) => template.Envvars);
  assert.match(secrets?.EmbeddedTmpl ?? '', /nomadVar/);
  assert.match(secrets?.EmbeddedTmpl ?? '', /INFERMESH_FEEDBACK_KEYS=[\s\S]*INFERMESH_ADMIN_TOKEN=/);
  assert.doesNotMatch(JSON.stringify(gatewayTask?.Config), /feedback-keys|admin-token/);

  const worker = await render(WORKER_JOB, { model: 'churn', deployment: 'canary' });
  assert.equal(worker.ID, 'infermesh-worker-churn-canary', 'one job per model deployment');
  const [workerGroup] = worker.TaskGroups;
  assert.ok(workerGroup?.Update !== undefined && workerGroup.Update !== null);
  assert.ok(workerGroup.Update.Canary >= 1, 'a new worker build starts as a canary');
  assert.equal(workerGroup.Update.AutoPromote, false);
  assert.equal(workerGroup.Update.AutoRevert, true);
  const workerService = servicesOf(worker).find((service) => service.Name === 'infermesh-worker');
  assert.deepEqual(workerService?.Checks?.map((check) => [check.Type, check.GRPCService]), [['grpc', 'inference.GRPCInferenceService']]);
  assert.equal(workerService?.Meta?.model, 'churn');
  assert.equal(workerService?.Meta?.deployment, 'canary');
  assert.deepEqual({ ...workerService?.CanaryMeta }, { ...workerService?.Meta, canary: 'true' }, 'canaries keep the pool meta and are marked');

  const aggregator = await render(AGGREGATOR_JOB);
  assert.deepEqual(servicesOf(aggregator).find((service) => service.Name === 'infermesh-aggregator')?.Checks?.map((check) => [check.Type, check.Path]), [['http', '/healthz']]);
  const aggregatorArgs = aggregator.TaskGroups[0]?.Tasks[0]?.Config.args ?? [];
  assert.deepEqual(aggregatorArgs.slice(aggregatorArgs.indexOf('--publish-interval-ms'), aggregatorArgs.indexOf('--publish-interval-ms') + 2), ['--publish-interval-ms', '2000']);

  const retrain = await render(RETRAIN_JOB, { model: 'churn', cron: '*/5 * * * *' });
  assert.equal(retrain.Type, 'batch');
  assert.deepEqual(retrain.Periodic?.Specs, ['*/5 * * * *']);
  assert.equal(retrain.Periodic?.ProhibitOverlap, true);
});

test('a job file with a check of an unknown type fails validation', async () => {
  const original = await readFile(join(DEPLOY_DIR, WORKER_JOB), 'utf8');
  const broken = original.replace(/(check\s*\{[^}]*?type\s*=\s*)"grpc"/, '$1"carrier-pigeon"');
  assert.notEqual(broken, original, 'the worker job has a grpc check to corrupt');
  const brokenFile = join(scratchDir, `broken-${WORKER_JOB}`);
  await writeFile(brokenFile, broken);

  const result = await validateJob(agent, brokenFile, REQUIRED_VARIABLES[WORKER_JOB]);
  assert.equal(result.exitCode, 1, describe(result));
  assert.match(result.stderr, /carrier-pigeon/, 'the error names the bad check type');
});

test('a job file with an unset variable fails validation', async () => {
  const result = await validateJob(agent, join(DEPLOY_DIR, WORKER_JOB));
  assert.equal(result.exitCode, 1, describe(result));
  assert.match(result.stderr, /model/, 'the error names the missing variable');
});

test('a raw_exec service job registers with the suite Consul and its http check passes', async (t) => {
  const name = `infermesh-nomad-smoke-${randomBytes(4).toString('hex')}`;
  const jobFile = join(scratchDir, `${name}.nomad.hcl`);
  await writeFile(jobFile, smokeJob(name));

  const submittedAt = Date.now();
  const run = await runJob(agent, jobFile);
  assert.equal(run.exitCode, 0, describe(run));
  t.after(async () => {
    await stopJob(agent, name);
  });

  let instance: { Service: { Address: string; Port: number } } | undefined;
  await eventually(
    `service ${name} passing in Consul`,
    async () => {
      const response = await fetch(`${consulAddr}/v1/health/service/${name}?passing=true`);
      const instances = (await response.json()) as Array<{ Service: { Address: string; Port: number } }>;
      instance = instances[0];
      return instance !== undefined;
    },
    SERVICE_PASSING_TIMEOUT_MS,
    POLL_INTERVAL_MS,
  );
  t.diagnostic(`service passing in Consul ${Date.now() - submittedAt} ms after job run`);
  assert.ok(instance);

  // The registered address is the task's own server on the port Nomad assigned it.
  const { Address, Port } = instance.Service;
  assert.equal(Address, '127.0.0.1');
  const answer = await fetch(`http://${Address}:${Port}/`);
  assert.equal(await answer.text(), name);

  const stopped = await stopJob(agent, name);
  assert.equal(stopped.exitCode, 0, describe(stopped));
  await eventually(
    `service ${name} deregistered from Consul`,
    async () => {
      const response = await fetch(`${consulAddr}/v1/catalog/service/${name}`);
      return ((await response.json()) as unknown[]).length === 0;
    },
    SERVICE_GONE_TIMEOUT_MS,
    POLL_INTERVAL_MS,
  );
});

/** A one-task service job: a node HTTP server answering its own name on the port Nomad assigns, with an http check. */
function smokeJob(name: string): string {
  const server = [
    "require('node:http')",
    `.createServer((request, response) => response.end(${JSON.stringify(name)}))`,
    '.listen(Number(process.env.NOMAD_PORT_http), process.env.NOMAD_IP_http)',
  ].join('');
  return `job ${JSON.stringify(name)} {
  type = "service"

  group "web" {
    network {
      port "http" {}
    }

    service {
      name     = ${JSON.stringify(name)}
      provider = "consul"
      port     = "http"
      check {
        type     = "http"
        path     = "/"
        interval = "1s"
        timeout  = "1s"
      }
    }

    task "server" {
      driver = "raw_exec"
      config {
        command = ${JSON.stringify(process.execPath)}
        args    = ["-e", ${JSON.stringify(server)}]
      }
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
`;
}

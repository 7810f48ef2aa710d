import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InfermeshError, WORKER_SERVICE_NAME, type ErrorCode } from '@infermesh/shared';
import { sha256OfFile } from '@infermesh/worker';
import { parseModelConfig } from '@infermesh/gateway';
import { readFile } from 'node:fs/promises';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';
import { openRegistry, REGISTRY_OPTIONS_HELP, REGISTRY_PARSE_OPTIONS, type RegistryConnection } from './registry-options.js';
import { formatTable } from '../output/format-table.js';

/** Exit code when a version exists already or a deployment changed concurrently. */
export const EXIT_CONFLICT = 3;
/** Exit code when a named model, version or deployment does not exist. */
export const EXIT_NOT_FOUND = 4;

function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'ALREADY_EXISTS':
    case 'CONFLICT':
      return EXIT_CONFLICT;
    case 'VERSION_NOT_FOUND':
    case 'DEPLOYMENT_NOT_FOUND':
    case 'MODEL_NOT_FOUND':
    case 'ARTIFACT_NOT_FOUND':
      return EXIT_NOT_FOUND;
    case 'INVALID_ARGUMENT':
    case 'INVALID_CONFIG':
      return EXIT_USAGE;
    default:
      return EXIT_FAILURE;
  }
}

const HELP = [
  'Usage: infermesh models <subcommand> [options]',
  '',
  'Subcommands:',
  '  publish MODEL VERSION --uri URI [--sha256 HEX] [--format onnx|lookup] [--metadata JSON]',
  '        record an immutable version (sha256 is computed for local files when omitted)',
  '  promote MODEL DEPLOYMENT VERSION [--if-version V]',
  '        point a deployment at a version (compare-and-set; --if-version: only if it serves V now)',
  '  rollback MODEL DEPLOYMENT',
  '        return a deployment to the version it served before',
  '  configure MODEL --file CONFIG.json',
  '        validate and store the gateway config of a model (models/MODEL/config); gateways apply it live',
  '  status [MODEL] [--json]',
  '        deployments, the version each should serve, and the workers serving each version',
  '',
  'Registry options:',
  ...REGISTRY_OPTIONS_HELP,
  '',
  `Exit codes: 0 done, 1 failed (e.g. registry unreachable), 2 usage, ${EXIT_CONFLICT} conflict (version exists,`,
  `deployment changed concurrently), ${EXIT_NOT_FOUND} not found (model, version or deployment).`,
].join('\n');

/** `infermesh models`: publish, promote, roll back and inspect model versions. */
export const modelsCommand: Command = {
  help: () => HELP,
  async run(argv, env) {
    const [subcommand, ...rest] = argv;
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(rest);
    } catch (error) {
      process.stderr.write(`infermesh models: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
    try {
      // Inside: a malformed registry variable is a usage error like a malformed flag.
      const connection = openRegistry(parsed.values, env);
      switch (subcommand) {
        case 'publish':
          return await publish(connection, parsed.positionals, parsed.values);
        case 'promote':
          return await promote(connection, parsed.positionals, parsed.values['if-version']);
        case 'rollback':
          return await rollback(connection, parsed.positionals);
        case 'configure':
          return await configure(connection, parsed.positionals, parsed.values.file);
        case 'status':
          return await status(connection, parsed.positionals, parsed.values.json === true);
        default:
          process.stderr.write(`infermesh models: unknown subcommand '${subcommand ?? ''}'\n\n${HELP}\n`);
          return EXIT_USAGE;
      }
    } catch (error) {
      const typed = InfermeshError.from(error);
      process.stderr.write(`infermesh models ${subcommand}: [${typed.code}] ${typed.message}\n`);
      return exitCodeFor(typed.code);
    }
  },
};

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      ...REGISTRY_PARSE_OPTIONS,
      uri: { type: 'string' },
      sha256: { type: 'string' },
      format: { type: 'string' },
      metadata: { type: 'string' },
      'if-version': { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
    },
  });
}

function positionals(names: string[], given: string[]): string[] {
  if (given.length !== names.length) throw new InfermeshError('INVALID_ARGUMENT', `expected ${names.join(' ')}, got ${given.length} arguments (see --help)`);
  return given;
}

async function publish(connection: RegistryConnection, given: string[], values: ReturnType<typeof parse>['values']): Promise<number> {
  const [model, version] = positionals(['MODEL', 'VERSION'], given) as [string, string];
  if (values.uri === undefined) throw new InfermeshError('INVALID_ARGUMENT', '--uri is required');
  const isLocal = values.uri.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(values.uri);
  let sha256 = values.sha256;
  if (sha256 === undefined) {
    if (!isLocal) throw new InfermeshError('INVALID_ARGUMENT', '--sha256 is required for remote artifacts');
    sha256 = await sha256OfFile(values.uri.startsWith('file:') ? fileURLToPath(values.uri) : values.uri).catch((error: Error) => {
      throw new InfermeshError('ARTIFACT_NOT_FOUND', `cannot read ${values.uri}: ${error.message}`);
    });
  }
  let metadata: Record<string, unknown> = {};
  if (values.metadata !== undefined) {
    try {
      metadata = JSON.parse(values.metadata) as Record<string, unknown>;
    } catch (error) {
      throw new InfermeshError('INVALID_ARGUMENT', `--metadata is not JSON: ${(error as Error).message}`);
    }
  }
  await connection.registry.publish(model, version, { uri: values.uri, sha256: sha256.toLowerCase(), metadata, ...(values.format ? { format: values.format } : {}) });
  process.stdout.write(`published ${model} ${version} (sha256 ${sha256}) in ${connection.kv.description}\n`);
  return 0;
}

async function promote(connection: RegistryConnection, given: string[], ifVersion: string | undefined): Promise<number> {
  const [model, deployment, version] = positionals(['MODEL', 'DEPLOYMENT', 'VERSION'], given) as [string, string, string];
  const record = await connection.registry.promote(model, deployment, version, ifVersion === undefined ? {} : { ifVersion });
  process.stdout.write(`promoted ${model}/${deployment} to ${version}${record.previous[0] ? ` (was ${record.previous[0]})` : ''}\n`);
  return 0;
}

async function rollback(connection: RegistryConnection, given: string[]): Promise<number> {
  const [model, deployment] = positionals(['MODEL', 'DEPLOYMENT'], given) as [string, string];
  const record = await connection.registry.rollback(model, deployment);
  process.stdout.write(`rolled back ${model}/${deployment} to ${record.version}\n`);
  return 0;
}

async function configure(connection: RegistryConnection, given: string[], file: string | undefined): Promise<number> {
  const [model] = positionals(['MODEL'], given) as [string];
  if (file === undefined) throw new InfermeshError('INVALID_ARGUMENT', '--file is required');
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new InfermeshError('INVALID_ARGUMENT', `cannot read ${file}: ${error.message}`);
  });
  parseModelConfig(model, text);
  const key = `models/${model}/config`;
  const current = await connection.kv.get(key);
  if (!(await connection.kv.compareAndSet(key, text, current?.index ?? 0))) {
    throw new InfermeshError('CONFLICT', `the config of '${model}' changed while this command ran; check and retry`);
  }
  process.stdout.write(`configured ${model} in ${connection.kv.description}\n`);
  return 0;
}

interface WorkerInstance {
  model: string;
  deployment: string;
  version: string;
  address: string;
  health: string;
}

async function workersInCatalog(connection: RegistryConnection): Promise<WorkerInstance[] | undefined> {
  if (connection.consul === undefined) return undefined;
  const entries = (await connection.consul.health.service({ service: WORKER_SERVICE_NAME } as never)) as unknown as {
    Service: { Address: string; Port: number; Meta?: Record<string, string> };
    Checks: { Status: string }[];
  }[];
  return entries.map((entry) => ({
    model: entry.Service.Meta?.model ?? '',
    deployment: entry.Service.Meta?.deployment ?? '',
    version: entry.Service.Meta?.version ?? '',
    address: `${entry.Service.Address}:${entry.Service.Port}`,
    health: entry.Checks.every((check) => check.Status === 'passing') ? 'passing' : entry.Checks.some((check) => check.Status === 'critical') ? 'critical' : 'warning',
  }));
}

async function status(connection: RegistryConnection, given: string[], json: boolean): Promise<number> {
  const model = given[0];
  const summaries = await connection.registry.summaries(model);
  if (model !== undefined && summaries.length === 0) throw new InfermeshError('MODEL_NOT_FOUND', `model '${model}' is not in ${connection.kv.description}`);
  const workers = await workersInCatalog(connection).catch((error: Error) => {
    throw new InfermeshError('UPSTREAM_UNAVAILABLE', `cannot read the Consul catalog: ${error.message}`);
  });
  const rows = summaries.flatMap((summary) => {
    const deployments = Object.entries(summary.deployments);
    if (deployments.length === 0) return [{ model: summary.model, deployment: '-', desired: '-', versions: summary.versions.length, workers: [] as WorkerInstance[] }];
    return deployments.map(([deployment, record]) => ({
      model: summary.model,
      deployment,
      desired: record.version,
      versions: summary.versions.length,
      workers: (workers ?? []).filter((worker) => worker.model === summary.model && worker.deployment === deployment),
    }));
  });
  if (json) {
    process.stdout.write(`${JSON.stringify({ registry: connection.kv.description, catalog: workers !== undefined, deployments: rows }, null, 2)}\n`);
    return 0;
  }
  const describeWorkers = (list: WorkerInstance[]) => {
    if (workers === undefined) return 'n/a (no Consul catalog)';
    if (list.length === 0) return 'none';
    const byVersion = new Map<string, string[]>();
    for (const worker of list) byVersion.set(worker.version, [...(byVersion.get(worker.version) ?? []), worker.health]);
    return [...byVersion].map(([version, healths]) => `${version}: ${healths.length} (${healths.filter((health) => health === 'passing').length} passing)`).join(', ');
  };
  process.stdout.write(
    `${formatTable(
      ['MODEL', 'DEPLOYMENT', 'DESIRED', 'VERSIONS', 'WORKERS BY VERSION'],
      rows.map((row) => [row.model, row.deployment, row.desired, String(row.versions), describeWorkers(row.workers)]),
    )}\n`,
  );
  return 0;
}

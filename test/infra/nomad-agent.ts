import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, LOOPBACK_HOST, startOnFreePorts } from './free-port.js';
import { ensureNomad } from './install-nomad.js';
import { ManagedProcess, onProcessExit } from './managed-process.js';
import { killAgentLeftovers, NOMAD_AGENT_MARKER_ENV, tidyNomadCgroups, unmountUnder, waitUntilExited } from './nomad-leftovers.js';

/** Milliseconds to wait for a dev agent to elect itself and list a ready node with its drivers (< 12 s measured idle). */
export const NOMAD_READY_TIMEOUT_MS = 60_000;

/** Milliseconds one readiness HTTP request may take. */
const PROBE_TIMEOUT_MS = 2_000;

/** Milliseconds processes a stopped agent left behind get to die after SIGKILL before their cgroups are removed. */
const LEFTOVER_EXIT_TIMEOUT_MS = 5_000;

/**
 * Cloud fingerprinters: they probe the metadata address 169.254.169.254 (traffic off loopback is forbidden here),
 * and env_aws makes the agent fail to start on a machine that sets AWS_CA_BUNDLE.
 */
const FINGERPRINT_DENYLIST = ['env_aws', 'env_gce', 'env_azure', 'env_digitalocean'];

/** Task drivers a test agent loads by default: raw_exec runs host commands (node) without isolation. */
export const DEFAULT_NOMAD_DRIVERS: readonly string[] = ['raw_exec'];

/** A running Nomad dev agent (server and client in one process) on loopback. */
export interface NomadAgent {
  /** Base URL of the HTTP API, e.g. "http://127.0.0.1:4646". */
  readonly address: string;
  /** Environment for the nomad CLI: NOMAD_ADDR points at this agent. */
  readonly env: Readonly<Record<string, string>>;
  /** The nomad binary the agent runs (the CLI helpers use it too). */
  readonly binary: string;
  /** ID of the agent's single client node. */
  readonly nodeId: string;
  /** Per-agent temp dir: TMPDIR of the agent (dev-mode state and alloc dirs), config file and log. */
  readonly workDir: string;
  /** The agent's stdout and stderr. */
  readonly logFile: string;
  /** Stops the agent (it destroys its allocations and deregisters their services), then removes what it left. */
  stop(): Promise<void>;
}

/** Options for startNomad. */
export interface StartNomadOptions {
  /** Consul HTTP address the client registers services with: "127.0.0.1:8500" or "http://127.0.0.1:8500". */
  readonly consulAddress: string;
  /** Task drivers to load; DEFAULT_NOMAD_DRIVERS by default. */
  readonly drivers?: readonly string[];
  /** Extra agent configuration (HCL) appended to the generated file. */
  readonly extraConfig?: string;
  readonly readyTimeoutMs?: number;
}

interface NomadPorts {
  readonly http: number;
  readonly rpc: number;
  readonly serf: number;
}

/** Starts a Nomad dev agent on free loopback ports against `consulAddress`, building Nomad first if needed. */
export async function startNomad(options: StartNomadOptions): Promise<NomadAgent> {
  const binary = await ensureNomad();
  const workDir = await mkdtemp(join(tmpdir(), 'infermesh-nomad-'));
  const logFile = join(workDir, 'nomad.log');
  const configFile = join(workDir, 'agent.hcl');
  // On an abrupt exit the agent is SIGKILLed (ManagedProcess) and cannot stop its tasks: kill them, then tidy.
  const unregisterExitCleanup = onProcessExit(() => cleanUpSync(workDir));
  const cleanUp = async (): Promise<void> => {
    unregisterExitCleanup();
    await waitUntilExited(killAgentLeftovers(workDir), LEFTOVER_EXIT_TIMEOUT_MS);
    tidyAfter(workDir);
  };
  try {
    return await startOnFreePorts(logFile, async () => {
      const ports = await pickPorts();
      await writeFile(configFile, agentConfig(ports, options));
      const agentProcess = createProcess(binary, configFile, logFile, workDir, options.consulAddress);
      const address = `http://${LOOPBACK_HOST}:${ports.http}`;
      let nodeId = '';
      try {
        agentProcess.start();
        await agentProcess.waitUntilReady(async () => {
          nodeId = await readyNodeId(address, options.drivers ?? DEFAULT_NOMAD_DRIVERS);
          return nodeId !== '';
        }, options.readyTimeoutMs ?? NOMAD_READY_TIMEOUT_MS);
      } catch (error) {
        await agentProcess.stop();
        throw error;
      }
      return {
        address,
        env: { NOMAD_ADDR: address },
        binary,
        nodeId,
        workDir,
        logFile,
        stop: async () => {
          await agentProcess.stop();
          await cleanUp();
        },
      };
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** The agent configuration: explicit loopback ports, no cloud probes, no calls home, no cluster joining via Consul. */
function agentConfig(ports: NomadPorts, options: StartNomadOptions): string {
  const drivers = options.drivers ?? DEFAULT_NOMAD_DRIVERS;
  const quoted = (values: readonly string[]): string => JSON.stringify(values.join(','));
  return [
    `name = "infermesh-test-${ports.http}"`,
    'log_level = "INFO"',
    'disable_update_check = true',
    `ports {\n  http = ${ports.http}\n  rpc  = ${ports.rpc}\n  serf = ${ports.serf}\n}`,
    'client {',
    '  options = {',
    `    "fingerprint.denylist" = ${quoted(FINGERPRINT_DENYLIST)}`,
    `    "driver.allowlist"     = ${quoted(drivers)}`,
    '  }',
    '}',
    // Dev mode enables raw_exec only through the legacy client option driver.raw_exec.enable; say it outright.
    ...(drivers.includes('raw_exec') ? ['plugin "raw_exec" {\n  config {\n    enabled = true\n  }\n}'] : []),
    // Every test agent shares one Consul: advertising and auto-joining would let dev agents find and join each other.
    'consul {\n  auto_advertise   = false\n  server_auto_join = false\n  client_auto_join = false\n}',
    options.extraConfig ?? '',
    '',
  ].join('\n');
}

async function pickPorts(): Promise<NomadPorts> {
  const [http, rpc, serf] = await freePorts(3);
  if (http === undefined || rpc === undefined || serf === undefined) throw new Error('startNomad: could not pick three free ports');
  return { http, rpc, serf };
}

function createProcess(binary: string, configFile: string, logFile: string, workDir: string, consulAddress: string): ManagedProcess {
  return new ManagedProcess({
    name: 'nomad',
    command: binary,
    args: [
      'agent',
      '-dev',
      `-bind=${LOOPBACK_HOST}`,
      '-network-interface=lo',
      `-consul-address=${consulAddress.replace(/^https?:\/\//, '')}`,
      `-config=${configFile}`,
    ],
    logFile,
    env: {
      ...process.env,
      // Dev mode keeps its state and alloc dirs under TMPDIR; a failed start leaves NomadClient* folders there.
      TMPDIR: workDir,
      CHECKPOINT_DISABLE: '1',
      [NOMAD_AGENT_MARKER_ENV]: workDir,
      // The CLI and API clients of the tasks must not pick up an outer Nomad.
      NOMAD_ADDR: '',
    },
  });
}

/** The client node's ID once the agent is healthy and its node is ready with every wanted driver healthy, else "". */
async function readyNodeId(address: string, drivers: readonly string[]): Promise<string> {
  const health = await fetch(`${address}/v1/agent/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (health.status !== 200) return '';
  const nodes = (await getJson(`${address}/v1/nodes`)) as Array<{ ID?: string; Status?: string }>;
  const node = nodes.find((candidate) => candidate.Status === 'ready');
  if (node?.ID === undefined) return '';
  const detail = (await getJson(`${address}/v1/node/${node.ID}`)) as { Drivers?: Record<string, { Healthy?: boolean }> };
  return drivers.every((driver) => detail.Drivers?.[driver]?.Healthy === true) ? node.ID : '';
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}

/** Synchronous so the exit hook can run it too (there, cgroups of processes still dying may stay behind). */
function cleanUpSync(workDir: string): void {
  killAgentLeftovers(workDir);
  tidyAfter(workDir);
}

function tidyAfter(workDir: string): void {
  unmountUnder(workDir);
  tidyNomadCgroups();
  rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
}

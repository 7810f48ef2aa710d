import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, LOOPBACK_HOST, startOnFreePorts } from './free-port.js';
import { ensureConsul } from './install-consul.js';
import { ManagedProcess, removeAtExit } from './managed-process.js';

/** Milliseconds to wait for a started agent to elect itself leader and accept a KV write. */
export const CONSUL_READY_TIMEOUT_MS = 30_000;

/** Milliseconds one readiness HTTP request may take. */
const PROBE_TIMEOUT_MS = 2_000;

/** KV key written by the readiness probe; outside every test's prefix. */
const READY_KEY = 'infermesh-infra/ready';

/** A running single-node Consul server on loopback. */
export interface ConsulAgent {
  /** Base URL of the HTTP API, e.g. "http://127.0.0.1:8500". */
  readonly httpAddr: string;
  readonly host: typeof LOOPBACK_HOST;
  /** HTTP API port. */
  readonly port: number;
  /** Raft and KV state; kept across stop()/start(). */
  readonly dataDir: string;
  /** The agent's stdout and stderr, appended across restarts. */
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after a timeout; resolves once the agent has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data dir, resolving when it is ready (KV survives). */
  start(): Promise<void>;
}

/** Options for startConsul. */
export interface StartConsulOptions {
  /** Data directory to use (and keep); a fresh temporary one by default. */
  readonly dataDir?: string;
}

interface ConsulPorts {
  readonly http: number;
  readonly server: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly grpc: number;
}

/** Starts a single-node Consul server agent on free loopback ports, building Consul first if needed. */
export async function startConsul(options: StartConsulOptions = {}): Promise<ConsulAgent> {
  const binary = await ensureConsul();
  const workDir = await mkdtemp(join(tmpdir(), 'infermesh-consul-'));
  removeAtExit(workDir);
  const dataDir = options.dataDir ?? join(workDir, 'data');
  await mkdir(dataDir, { recursive: true });
  const logFile = join(workDir, 'consul.log');

  return startOnFreePorts(logFile, async () => {
    const ports = await pickPorts();
    const agentProcess = createProcess(binary, dataDir, logFile, ports);
    await runUntilReady(agentProcess, ports);
    return {
      httpAddr: httpAddrOf(ports),
      host: LOOPBACK_HOST,
      port: ports.http,
      dataDir,
      logFile,
      stop: () => agentProcess.stop(),
      start: () => runUntilReady(agentProcess, ports),
    };
  });
}

async function pickPorts(): Promise<ConsulPorts> {
  const [http, server, serfLan, serfWan, grpc] = await freePorts(5);
  if (http === undefined || server === undefined || serfLan === undefined || serfWan === undefined || grpc === undefined) {
    throw new Error('startConsul: could not pick five free ports');
  }
  return { http, server, serfLan, serfWan, grpc };
}

function createProcess(binary: string, dataDir: string, logFile: string, ports: ConsulPorts): ManagedProcess {
  return new ManagedProcess({
    name: 'consul',
    command: binary,
    args: [
      'agent',
      // A real server with on-disk Raft state (unlike -dev) so KV survives a restart.
      '-server',
      '-bootstrap-expect=1',
      '-node=infermesh-test',
      `-bind=${LOOPBACK_HOST}`,
      `-advertise=${LOOPBACK_HOST}`,
      `-client=${LOOPBACK_HOST}`,
      `-data-dir=${dataDir}`,
      `-http-port=${ports.http}`,
      `-server-port=${ports.server}`,
      `-serf-lan-port=${ports.serfLan}`,
      `-serf-wan-port=${ports.serfWan}`,
      `-grpc-port=${ports.grpc}`,
      '-dns-port=-1',
      '-log-level=info',
      // No call home; no TLS gRPC port (it defaults to 8503 on servers and would clash between agents).
      '-hcl=disable_update_check = true',
      '-hcl=ports { grpc_tls = -1 }',
      // Raft timings of -dev: a single server elects itself in about a second instead of several.
      '-hcl=performance { raft_multiplier = 1 }',
    ],
    logFile,
    env: { ...process.env, CHECKPOINT_DISABLE: '1' },
  });
}

async function runUntilReady(agentProcess: ManagedProcess, ports: ConsulPorts): Promise<void> {
  agentProcess.start();
  await agentProcess.waitUntilReady(() => isReady(httpAddrOf(ports)), CONSUL_READY_TIMEOUT_MS);
}

/** Ready means a leader is known and a KV write commits through Raft (blocking reads then work too). */
async function isReady(httpAddr: string): Promise<boolean> {
  const leader = await fetch(`${httpAddr}/v1/status/leader`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!leader.ok) return false;
  const leaderAddr: unknown = await leader.json();
  if (typeof leaderAddr !== 'string' || leaderAddr === '') return false;
  const put = await fetch(`${httpAddr}/v1/kv/${READY_KEY}`, {
    method: 'PUT',
    body: new Date().toISOString(),
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  return put.ok && (await put.text()).trim() === 'true';
}

function httpAddrOf(ports: ConsulPorts): string {
  return `http://${LOOPBACK_HOST}:${ports.http}`;
}

import { spawn } from 'node:child_process';
import { killAtExit } from './managed-process.js';

/** Milliseconds a nomad CLI command may take before it is killed (job run waits for the first evaluation). */
export const NOMAD_CLI_TIMEOUT_MS = 60_000;

/** The agent a CLI command talks to: its binary and NOMAD_ADDR (a NomadAgent fits). */
export interface NomadCliTarget {
  readonly binary: string;
  readonly env: Readonly<Record<string, string>>;
}

/** How a nomad CLI command ended. */
export interface NomadCliResult {
  /** Exit code; null when it was killed (timeout). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** HCL2 variables passed with -var NAME=VALUE. */
export type JobVariables = Readonly<Record<string, string | number>>;

/** Runs `nomad <args>` against the target agent (NOMAD_ADDR from its env, never an outer Nomad). */
export async function runNomadCli(target: NomadCliTarget, args: readonly string[], timeoutMs: number = NOMAD_CLI_TIMEOUT_MS): Promise<NomadCliResult> {
  // No NOMAD_* from the caller's environment (token, namespace, region) may leak into a test command.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NOMAD_')));
  const child = spawn(target.binary, [...args], {
    env: { ...inherited, ...target.env, NOMAD_CLI_NO_COLOR: '1', CHECKPOINT_DISABLE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forget = killAtExit(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    return { exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  } finally {
    clearTimeout(timer);
    forget();
  }
}

/** `nomad job validate [-var …] FILE`: the agent also checks the task drivers' config. */
export function validateJob(target: NomadCliTarget, jobFile: string, variables: JobVariables = {}): Promise<NomadCliResult> {
  return runNomadCli(target, ['job', 'validate', ...variableArgs(variables), jobFile]);
}

/** `nomad job run -detach [-var …] FILE`: submits the job and returns once it is registered, not once it runs. */
export function runJob(target: NomadCliTarget, jobFile: string, variables: JobVariables = {}): Promise<NomadCliResult> {
  return runNomadCli(target, ['job', 'run', '-detach', ...variableArgs(variables), jobFile]);
}

/** `nomad job run -output [-var …] FILE`: the job as the API would receive it (JSON, {"Job": …}); nothing is submitted. */
export async function renderJob(target: NomadCliTarget, jobFile: string, variables: JobVariables = {}): Promise<Record<string, unknown>> {
  const result = await runNomadCli(target, ['job', 'run', '-output', ...variableArgs(variables), jobFile]);
  if (result.exitCode !== 0) throw new Error(`nomad job run -output ${jobFile}: exit ${result.exitCode}\n${result.stderr}`);
  return (JSON.parse(result.stdout) as { Job: Record<string, unknown> }).Job;
}

/** `nomad job stop -purge JOB`. */
export function stopJob(target: NomadCliTarget, jobId: string): Promise<NomadCliResult> {
  return runNomadCli(target, ['job', 'stop', '-purge', '-detach', jobId]);
}

/** `nomad var put PATH key=value…`: a Nomad Variable (the jobs' secrets); replaces the items it held. */
export function putVariable(target: NomadCliTarget, path: string, items: Readonly<Record<string, string>>): Promise<NomadCliResult> {
  return runNomadCli(target, ['var', 'put', '-force', path, ...Object.entries(items).map(([key, value]) => `${key}=${value}`)]);
}

/** `nomad deployment promote -detach ID`: promotes every canary of the deployment, as an operator would. */
export function promoteDeployment(target: NomadCliTarget, deploymentId: string): Promise<NomadCliResult> {
  return runNomadCli(target, ['deployment', 'promote', '-detach', deploymentId]);
}

function variableArgs(variables: JobVariables): string[] {
  return Object.entries(variables).flatMap(([name, value]) => ['-var', `${name}=${String(value)}`]);
}

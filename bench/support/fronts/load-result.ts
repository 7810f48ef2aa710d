/** What one load-generator run measured, whatever the tool. */
import { spawn } from 'node:child_process';
import { reapedChildrenCpuMs } from './process-cpu.js';

/** Client-side latency percentiles of one run, milliseconds. */
export interface LatencyMs {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** One measured run of wrk, vegeta or ghz. */
export interface LoadResult {
  tool: 'wrk' | 'vegeta' | 'ghz';
  /** Answers received (any status). */
  requests: number;
  /** Answers that were not a success (HTTP status other than 200, gRPC status other than OK) and transport errors. */
  failures: number;
  /** The first failure, for the report. */
  failureSample?: string;
  /** Measured wall time of the run, seconds. */
  durationS: number;
  throughputPerS: number;
  latencyMs: LatencyMs;
  /** Fixed-rate runs: the rate asked for, requests per second. */
  targetRatePerS?: number;
  /** CPU the load generator itself used, milliseconds (it must not be the bottleneck). */
  generatorCpuMs: number;
}

/** Nearest-rank percentiles and the mean of raw latencies given in nanoseconds. */
export function latencyFromNanos(latenciesNs: number[]): LatencyMs {
  const sorted = Float64Array.from(latenciesNs).sort();
  const at = (quantile: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)]! / 1e6);
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((sum, value) => sum + value, 0) / sorted.length / 1e6;
  return { mean, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1) };
}

/** A finished tool run: its output and the CPU it used. */
export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** CPU of the tool process (and anything it spawned), milliseconds. */
  cpuMs: number;
}

/** Runs a load tool to completion; its CPU is read from this process's reaped-children total, so run tools one at a time. */
export async function runTool(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolRun> {
  const before = reapedChildrenCpuMs();
  const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  return { code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), cpuMs: reapedChildrenCpuMs() - before };
}

/** Throws with the tool's output when it did not exit 0. */
export function assertRan(name: string, run: ToolRun): void {
  if (run.code !== 0) throw new Error(`${name} exited with ${run.code}:\n${run.stderr.slice(-2000)}\n${run.stdout.slice(-2000)}`);
}

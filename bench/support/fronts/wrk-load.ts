/** Saturating HTTP load with wrk: a fixed number of keep-alive connections, each sending as soon as the previous answer arrived. */
import { fileURLToPath } from 'node:url';
import { wrkEnvironment, type WrkInstall } from '../../../test/infra/install-wrk.js';
import { assertRan, runTool, type LoadResult } from './load-result.js';

/** The Lua script that rotates entity ids, counts non-200 answers and prints the results. */
const WRK_SCRIPT = fileURLToPath(new URL('../../fronts/wrk-post.lua', import.meta.url));

/** Placeholder of the entity id in a body template (replaced by u1…uN in turn). */
export const USER_PLACEHOLDER = '@USER@';

/** Seconds a request may take before wrk counts it as a timeout (which invalidates the series). */
const WRK_TIMEOUT_S = 5;

/** One POST target: where to send and what. */
export interface HttpTarget {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  path: string;
  /** JSON body; USER_PLACEHOLDER is replaced by an entity id. */
  bodyTemplate: string;
  contentType: string;
  /** Distinct entity ids sent in turn. */
  users: number;
}

/** Connections and threads of a wrk run. */
export interface WrkShape {
  connections: number;
  threads: number;
  durationS: number;
}

interface WrkOutput {
  requests: number;
  durationUs: number;
  non200: number;
  sample: string;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { mean: number; max: number; p50: number; p90: number; p99: number; p999: number };
}

/** Runs wrk against `target` for `shape.durationS` seconds. */
export async function runWrk(wrk: WrkInstall, target: HttpTarget, shape: WrkShape): Promise<LoadResult> {
  const run = await runTool(
    wrk.binary,
    [
      `-t${shape.threads}`,
      `-c${shape.connections}`,
      `-d${shape.durationS}s`,
      '--timeout',
      `${WRK_TIMEOUT_S}s`,
      '-s',
      WRK_SCRIPT,
      `${target.baseUrl}${target.path}`,
      '--',
      target.path,
      target.bodyTemplate,
      String(target.users),
      target.contentType,
    ],
    wrkEnvironment(wrk),
  );
  assertRan('wrk', run);
  const line = run.stdout.split('\n').find((text) => text.startsWith('WRK_RESULT '));
  if (line === undefined) throw new Error(`wrk printed no result line:\n${run.stdout}\n${run.stderr}`);
  const output = JSON.parse(line.slice('WRK_RESULT '.length)) as WrkOutput;
  const socketErrors = output.errors.connect + output.errors.read + output.errors.write + output.errors.timeout;
  const durationS = output.durationUs / 1e6;
  const us = output.latencyUs;
  return {
    tool: 'wrk',
    requests: output.requests,
    failures: output.non200 + socketErrors,
    ...(output.non200 > 0 ? { failureSample: output.sample } : socketErrors > 0 ? { failureSample: `socket errors ${JSON.stringify(output.errors)}` } : {}),
    durationS,
    throughputPerS: output.requests / durationS,
    latencyMs: { mean: us.mean / 1e3, p50: us.p50 / 1e3, p90: us.p90 / 1e3, p99: us.p99 / 1e3, p999: us.p999 / 1e3, max: us.max / 1e3 },
    generatorCpuMs: run.cpuMs,
  };
}

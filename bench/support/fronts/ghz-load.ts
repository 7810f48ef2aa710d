/** gRPC load with ghz: ModelInfer calls over one HTTP/2 connection, like a gateway's channel to a worker. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { assertRan, latencyFromNanos, runTool, type LoadResult } from './load-result.js';

/** The repository's proto/ directory: ghz reads the service definition from it. */
const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));
/** The Open Inference Protocol service file, relative to PROTO_ROOT. */
const INFERENCE_PROTO = 'inference/grpc_predict_v2.proto';
/** Fully qualified method ghz calls. */
const MODEL_INFER = 'inference.GRPCInferenceService/ModelInfer';

/** The shape of a ghz run: closed loop with `concurrency` callers, or rate-limited with `ratePerS`. */
export interface GhzShape {
  concurrency: number;
  connections: number;
  durationS: number;
  ratePerS?: number;
}

/** One call's record in ghz's JSON report (latency in nanoseconds). */
interface GhzDetail {
  latency: number;
}

interface GhzReport {
  count: number;
  total: number;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
  details?: GhzDetail[];
}

/**
 * A ModelInferRequest serialised once: ghz sends the same bytes on every call (`-B`), which
 * costs it far less CPU than converting JSON to a message per call (measured here: ~100 µs
 * against ~175 µs of ghz CPU per call).
 */
export async function encodeModelInferRequest(request: object): Promise<Buffer> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(PROTO_ROOT, target));
  await root.load(INFERENCE_PROTO, { keepCase: true });
  const type = root.lookupType('inference.ModelInferRequest');
  const problem = type.verify(request);
  if (problem !== null) throw new Error(`ModelInferRequest: ${problem}`);
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

/** Calls ModelInfer on `address` with `requestBytes` for `shape.durationS` seconds; in-flight calls at the end are awaited, not counted as errors. */
export async function runGhz(ghz: string, address: string, requestBytes: Buffer, shape: GhzShape): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ghz-'));
  try {
    const requestFile = join(dir, 'request.bin');
    const reportFile = join(dir, 'report.json');
    writeFileSync(requestFile, requestBytes);
    const run = await runTool(ghz, [
      '--insecure',
      '--proto',
      join(PROTO_ROOT, INFERENCE_PROTO),
      '--import-paths',
      PROTO_ROOT,
      '--call',
      MODEL_INFER,
      '-B',
      requestFile,
      '--concurrency',
      String(shape.concurrency),
      '--connections',
      String(shape.connections),
      '--duration',
      `${shape.durationS}s`,
      '--duration-stop',
      'wait',
      ...(shape.ratePerS === undefined ? [] : ['--rps', String(shape.ratePerS)]),
      '--format',
      'json',
      '--output',
      reportFile,
      address,
    ]);
    assertRan('ghz', run);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as GhzReport;
    const details = report.details ?? [];
    if (details.length !== report.count) throw new Error(`ghz reported ${report.count} calls but detailed ${details.length}`);
    const failures = report.count - (report.statusCodeDistribution?.OK ?? 0);
    const firstError = Object.keys(report.errorDistribution ?? {})[0];
    const durationS = report.total / 1e9;
    return {
      tool: 'ghz',
      requests: report.count,
      failures,
      ...(failures === 0 ? {} : { failureSample: `${JSON.stringify(report.statusCodeDistribution)} ${firstError ?? ''}`.slice(0, 300) }),
      durationS,
      throughputPerS: report.count / durationS,
      latencyMs: latencyFromNanos(details.map((detail) => detail.latency)),
      ...(shape.ratePerS === undefined ? {} : { targetRatePerS: shape.ratePerS }),
      generatorCpuMs: run.cpuMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

import { ensureGoBinary, type GoInstallSpec } from './install-go-binary.js';
import { stderrLog, type ProgressLog } from './install-step.js';

/**
 * vegeta release the benchmarks drive fixed-rate HTTP load with (github.com/tsenart/vegeta,
 * MIT): an open-loop generator that sends at the configured rate whatever the latency, so
 * light-load latencies are not shaped by the client waiting for the previous answer.
 */
export const VEGETA_VERSION = 'v12.13.0';

/** How vegeta is built: `go install` of its main package at VEGETA_VERSION. */
export const VEGETA: GoInstallSpec = { kind: 'go-install', name: 'vegeta', packagePath: 'github.com/tsenart/vegeta/v12', version: VEGETA_VERSION, checkArgs: ['-version'] };

/** Returns the path of a working vegeta, building it from the Go module proxy the first time (under a minute). */
export function ensureVegeta(log: ProgressLog = stderrLog): Promise<string> {
  return ensureGoBinary(VEGETA, log);
}

import { ensureGoBinary, type GoInstallSpec } from './install-go-binary.js';
import { stderrLog, type ProgressLog } from './install-step.js';

/**
 * ghz release the benchmarks load gRPC workers with (github.com/bojand/ghz, Apache-2.0): a Go
 * load generator for unary gRPC calls that reads the service from proto/ and reports every
 * call's latency and status.
 */
export const GHZ_VERSION = 'v0.120.0';

/** How ghz is built: `go install` of its command package at GHZ_VERSION. */
export const GHZ: GoInstallSpec = { kind: 'go-install', name: 'ghz', packagePath: 'github.com/bojand/ghz/cmd/ghz', version: GHZ_VERSION, checkArgs: ['--help'] };

/** Returns the path of a working ghz, building it from the Go module proxy the first time (about 2–3 minutes on 2 cores). */
export function ensureGhz(log: ProgressLog = stderrLog): Promise<string> {
  return ensureGoBinary(GHZ, log);
}

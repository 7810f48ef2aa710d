// Installs the real Consul and Kafka the integration tests run against, into the cache dir
// outside the repo (see test/infra/cache-dir.ts). Safe to run again: cached installs are reused.
// Usage: npx tsx scripts/install-infra.ts
import { infraCacheDir } from '../test/infra/cache-dir.js';
import { CONSUL_VERSION, ensureConsul } from '../test/infra/install-consul.js';
import { ensureKafka, KAFKA_VERSION } from '../test/infra/install-kafka.js';
import { formatElapsed, MissingToolchainError, stderrLog } from '../test/infra/install-step.js';

/** Runs one install and reports how long it took, or why it failed. */
async function timed(name: string, install: () => Promise<string>): Promise<boolean> {
  const startedAt = Date.now();
  try {
    const where = await install();
    stderrLog(`${name}: ready in ${formatElapsed(startedAt)} (${Date.now() - startedAt} ms) at ${where}`);
    return true;
  } catch (error) {
    const message = error instanceof MissingToolchainError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    stderrLog(`${name}: FAILED after ${formatElapsed(startedAt)}: ${message}`);
    return false;
  }
}

stderrLog(`install-infra: cache dir ${infraCacheDir()}`);
// The Go build is CPU-bound and the Maven fetch network-bound, so running them together costs little.
const results = await Promise.all([
  timed(`consul ${CONSUL_VERSION}`, () => ensureConsul()),
  timed(`kafka ${KAFKA_VERSION}`, async () => (await ensureKafka()).libDir),
]);
if (results.includes(false)) {
  stderrLog('install-infra: some installs failed (see above)');
  process.exitCode = 1;
}

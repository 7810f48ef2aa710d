// Installs the real Consul, Kafka and Nomad the integration tests run against, into the cache dir
// outside the repo (see test/infra/cache-dir.ts). Safe to run again: cached installs are reused.
// Usage: npx tsx scripts/install-infra.ts
import { infraCacheDir } from '../test/infra/cache-dir.js';
import { CONSUL_VERSION, ensureConsul } from '../test/infra/install-consul.js';
import { ensureKafka, KAFKA_VERSION } from '../test/infra/install-kafka.js';
import { ensureNomad, NOMAD_VERSION } from '../test/infra/install-nomad.js';
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
// The Go builds are CPU-bound and the Maven fetch network-bound, so Kafka runs beside them; the two Go builds
// run one after the other (each already uses every core, and Nomad reuses packages Consul compiled).
const results = await Promise.all([
  timed(`consul ${CONSUL_VERSION}`, () => ensureConsul()).then(async (consulOk) => [consulOk, await timed(`nomad ${NOMAD_VERSION}`, () => ensureNomad())]),
  timed(`kafka ${KAFKA_VERSION}`, async () => (await ensureKafka()).libDir),
]).then((outcomes) => outcomes.flat());
if (results.includes(false)) {
  stderrLog('install-infra: some installs failed (see above)');
  process.exitCode = 1;
}

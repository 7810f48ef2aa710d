import { ensureGoBinary, type GoWrapperModuleSpec } from './install-go-binary.js';
import { requireTool, stderrLog, type ProgressLog } from './install-step.js';

/** Nomad release the tests run; must match the `require` line of scripts/infra/nomad/go.mod. */
export const NOMAD_VERSION = '1.10.5';

/** How Nomad is built: its main package, from the wrapper module in scripts/infra/nomad/, with cgo. */
export const NOMAD: GoWrapperModuleSpec = {
  kind: 'wrapper-module',
  name: 'nomad',
  product: 'Nomad',
  version: NOMAD_VERSION,
  packagePath: 'github.com/hashicorp/nomad',
  minimumGoFallback: '1.24.7',
  // runc's libcontainer/nsenter is C: without cgo the package is excluded and the build fails.
  cgo: true,
  /** Build tags of Nomad's own release builds: `hashicorpmetrics` selects the metrics library its code is written against. */
  buildTags: 'hashicorpmetrics',
  requireMore: () => void requireTool('gcc', ['--version'], 'install a C compiler (gcc): Nomad builds with cgo on Linux'),
};

/** Returns the path of a working Nomad binary, building it with the local Go toolchain the first time (minutes). */
export function ensureNomad(log: ProgressLog = stderrLog): Promise<string> {
  return ensureGoBinary(NOMAD, log);
}

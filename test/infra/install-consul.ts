import { ensureGoBinary, type GoWrapperModuleSpec } from './install-go-binary.js';
import { stderrLog, type ProgressLog } from './install-step.js';

/** Consul release the tests run; must match the `require` line of scripts/infra/consul/go.mod. */
export const CONSUL_VERSION = '1.22.6';

/** How Consul is built: its main package, from the wrapper module in scripts/infra/consul/, without cgo. */
export const CONSUL: GoWrapperModuleSpec = {
  kind: 'wrapper-module',
  name: 'consul',
  product: 'Consul',
  version: CONSUL_VERSION,
  packagePath: 'github.com/hashicorp/consul',
  minimumGoFallback: '1.25.8',
  cgo: false,
  /**
   * Consul's own submodules at the versions its go.mod requires (it builds them from local folders via replace):
   * the module proxy serves these two tags but the checksum database answers 404, so the committed go.sum is
   * their only checksum and go must not insist on a database lookup.
   */
  uncheckedModules: ['github.com/hashicorp/consul/envoyextensions', 'github.com/hashicorp/consul/troubleshoot'],
};

/** Returns the path of a working Consul binary, building it with the local Go toolchain the first time (minutes). */
export function ensureConsul(log: ProgressLog = stderrLog): Promise<string> {
  return ensureGoBinary(CONSUL, log);
}

import { DEFAULT_KV_PREFIX, DEFAULT_REGISTRY_DIR, ModelRegistry, openRegistryStore, type KvStore, type OptionSpec, type RegistryStoreConfig } from '@infermesh/shared';
import type Consul from 'consul';
import { loadCommandOptions } from './load-command-options.js';

/** The registry options of the CLI's registry commands: flags, else environment, else defaults. */
export const REGISTRY_OPTIONS: readonly OptionSpec[] = [
  { key: 'consul', flag: 'consul', env: 'CONSUL_HTTP_ADDR', type: 'string', description: 'Consul HTTP address; the registry is Consul KV' },
  { key: 'consulToken', flag: 'consul-token', env: 'CONSUL_HTTP_TOKEN', type: 'string', description: 'Consul ACL token' },
  { key: 'registryDir', flag: 'registry-dir', env: 'INFERMESH_REGISTRY_DIR', type: 'string', default: DEFAULT_REGISTRY_DIR, description: 'Directory registry when Consul is not used' },
  { key: 'kvPrefix', flag: 'kv-prefix', env: 'INFERMESH_KV_PREFIX', type: 'string', default: DEFAULT_KV_PREFIX, description: 'Consul KV prefix' },
];

/** parseArgs options that select a registry, shared by registry commands. */
export const REGISTRY_PARSE_OPTIONS = {
  consul: { type: 'string' },
  'consul-token': { type: 'string' },
  'registry-dir': { type: 'string' },
  'kv-prefix': { type: 'string' },
} as const;

/** Help lines for {@link REGISTRY_PARSE_OPTIONS}. */
export const REGISTRY_OPTIONS_HELP = [
  '  --consul <url>         Consul HTTP address [CONSUL_HTTP_ADDR]; the registry is Consul KV',
  '  --consul-token <t>     Consul ACL token [CONSUL_HTTP_TOKEN]',
  `  --registry-dir <dir>   directory registry when Consul is not used [INFERMESH_REGISTRY_DIR] (default ${DEFAULT_REGISTRY_DIR})`,
  `  --kv-prefix <p>        Consul KV prefix [INFERMESH_KV_PREFIX] (default ${DEFAULT_KV_PREFIX})`,
];

/** The registry a command talks to, and the Consul client when there is one (for catalog queries). */
export interface RegistryConnection {
  registry: ModelRegistry;
  kv: KvStore;
  consul: Consul | undefined;
}

/** Opens the registry named by flags, else environment, else the default directory. */
export function openRegistry(flags: Partial<Record<keyof typeof REGISTRY_PARSE_OPTIONS, string | undefined>>, env: NodeJS.ProcessEnv): RegistryConnection {
  const { kv, consul } = openRegistryStore(loadCommandOptions<RegistryStoreConfig>(REGISTRY_OPTIONS, flags, env));
  return { registry: new ModelRegistry(kv), kv, consul };
}

import { ConsulKvStore, createConsulClient, DEFAULT_KV_PREFIX, FileKvStore, ModelRegistry, type KvStore } from '@infermesh/shared';
import type Consul from 'consul';

/** Directory registry used when neither --consul nor --registry-dir is given. */
export const DEFAULT_REGISTRY_DIR = '.infermesh/registry';

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
export function openRegistry(values: Partial<Record<keyof typeof REGISTRY_PARSE_OPTIONS, string | undefined>>, env: NodeJS.ProcessEnv): RegistryConnection {
  const consulAddr = values.consul ?? env.CONSUL_HTTP_ADDR;
  if (consulAddr !== undefined && consulAddr !== '') {
    const consul = createConsulClient(consulAddr, values['consul-token'] ?? env.CONSUL_HTTP_TOKEN);
    const kv = new ConsulKvStore(consul, values['kv-prefix'] ?? env.INFERMESH_KV_PREFIX ?? DEFAULT_KV_PREFIX);
    return { registry: new ModelRegistry(kv), kv, consul };
  }
  const kv = new FileKvStore(values['registry-dir'] ?? env.INFERMESH_REGISTRY_DIR ?? DEFAULT_REGISTRY_DIR);
  return { registry: new ModelRegistry(kv), kv, consul: undefined };
}

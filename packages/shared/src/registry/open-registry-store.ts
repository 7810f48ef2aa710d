import type Consul from 'consul';
import { DEFAULT_KV_PREFIX } from '../contract/mesh-contract.js';
import { ConsulKvStore, createConsulClient } from '../kv/consul-kv-store.js';
import { FileKvStore } from '../kv/file-kv-store.js';
import type { KvStore } from '../kv/kv-store.js';

/** Directory of the file registry when neither Consul nor a directory is configured. */
export const DEFAULT_REGISTRY_DIR = '.infermesh/registry';

/** The registry values of a validated config (`--consul`, `--consul-token`, `--kv-prefix`, `--registry-dir`). */
export interface RegistryStoreConfig {
  /** Consul HTTP address; set, the registry is Consul KV and `registryDir` is not used. */
  consul?: string | undefined;
  consulToken?: string | undefined;
  /** Consul KV prefix ({@link DEFAULT_KV_PREFIX} unless given). */
  kvPrefix?: string | undefined;
  /** Directory of the file registry ({@link DEFAULT_REGISTRY_DIR} unless given). */
  registryDir?: string | undefined;
}

/** The registry a process talks to, and the Consul client when there is one (catalog, service registration). */
export interface RegistryStore {
  kv: KvStore;
  consul: Consul | undefined;
}

/**
 * The one place a process turns its registry options into a store: Consul KV when an address
 * is configured, else the file registry. Connects to nothing yet (the first request does), so
 * a process may open it before deciding whether it needs it.
 */
export function openRegistryStore(config: RegistryStoreConfig): RegistryStore {
  if (config.consul !== undefined && config.consul !== '') {
    const consul = createConsulClient(config.consul, config.consulToken);
    return { kv: new ConsulKvStore(consul, config.kvPrefix ?? DEFAULT_KV_PREFIX), consul };
  }
  return { kv: new FileKvStore(config.registryDir ?? DEFAULT_REGISTRY_DIR), consul: undefined };
}

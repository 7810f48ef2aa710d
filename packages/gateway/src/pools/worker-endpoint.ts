/** One worker instance a pool can call: a stable id, its gRPC address and catalog meta. */
export interface WorkerEndpoint {
  /** Stable identity: the Consul service id, or the address for static pools. */
  id: string;
  /** gRPC address, `host:port`. */
  address: string;
  /** Catalog meta (`model`, `deployment`, `version`); empty for static pools. */
  meta: Record<string, string>;
}

import type { Options } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The repository's proto/ directory, the only source of message types. */
export const PROTO_DIR = fileURLToPath(new URL('../../../../proto', import.meta.url));

/**
 * How messages map to JavaScript. Kept identical to the flags in
 * scripts/generate-proto-types.ts so the generated types describe what the loader returns.
 * int64 as String: tensor data and ids must survive beyond 2^53.
 */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

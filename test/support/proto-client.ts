import { credentials, loadPackageDefinition, status, type Client, type ServiceError, type Metadata } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The repository's proto/ directory. */
const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

/**
 * Loads a service straight from proto/ with snake_case field names and Long-free numbers,
 * the way a third-party (Triton/KServe) client sees the wire, independent of infermesh's code.
 */
function loadService(file: string, path: string[]): new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client {
  const definition = loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, includeDirs: [PROTO_ROOT] });
  let node: unknown = loadPackageDefinition(definition);
  for (const part of path) node = (node as Record<string, unknown>)[part];
  return node as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;
}

/** A gRPC error as the client receives it. */
export type CallError = ServiceError & { metadata: Metadata };

/** Calls a unary method; rejects with the ServiceError. */
export function unary<Response = Record<string, unknown>>(client: Client, method: string, request: object, timeoutMs = 10_000): Promise<Response> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, request, { deadline: new Date(Date.now() + timeoutMs) }, (error: ServiceError | null, response: Response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** An inference.GRPCInferenceService client for `address`. */
export function inferenceClient(address: string): Client {
  const Service = loadService('inference/grpc_predict_v2.proto', ['inference', 'GRPCInferenceService']);
  return new Service(address, credentials.createInsecure());
}

/** A grpc.health.v1.Health client for `address`. */
export function healthClient(address: string): Client {
  const Service = loadService('grpc/health/v1/health.proto', ['grpc', 'health', 'v1', 'Health']);
  return new Service(address, credentials.createInsecure());
}

/** Whether a new connection to `address` is refused (ServerLive answered UNAVAILABLE): how a stopping server turns newcomers away. */
export async function refusesNewCalls(address: string): Promise<boolean> {
  const probe = inferenceClient(address);
  try {
    await unary(probe, 'ServerLive', {}, 2_000);
    return false;
  } catch (error) {
    return (error as CallError).code === status.UNAVAILABLE;
  } finally {
    probe.close();
  }
}

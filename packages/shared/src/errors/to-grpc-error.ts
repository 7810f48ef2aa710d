import { Metadata, type ServiceError, type status } from '@grpc/grpc-js';
import { grpcStatusFor } from './grpc-status-for.js';
import { InfermeshError } from './infermesh-error.js';

/** Metadata key carrying the stable infermesh error code next to the gRPC status. */
export const ERROR_CODE_METADATA_KEY = 'infermesh-error-code';

/** Converts anything thrown into the gRPC error a handler passes to its callback. */
export function toGrpcError(error: unknown): Partial<ServiceError> & { code: status } {
  const infermeshError = InfermeshError.from(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, infermeshError.code);
  return { code: grpcStatusFor(infermeshError.code), details: infermeshError.message, metadata };
}

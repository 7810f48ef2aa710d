import { Metadata, type ServiceError, type status } from '@grpc/grpc-js';
import { grpcStatusFor } from './grpc-status-for.js';
import { InfermeshError } from './infermesh-error.js';
import { ERROR_CODE_METADATA_KEY } from '../contract/mesh-contract.js';

/** Converts anything thrown into the gRPC error a handler passes to its callback. */
export function toGrpcError(error: unknown): Partial<ServiceError> & { code: status } {
  const infermeshError = InfermeshError.from(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, infermeshError.code);
  return { code: grpcStatusFor(infermeshError.code), details: infermeshError.clientMessage, metadata };
}

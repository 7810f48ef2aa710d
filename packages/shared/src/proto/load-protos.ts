import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType as InferenceProto } from '../generated/grpc_predict_v2.js';
import type { ProtoGrpcType as HealthProto } from '../generated/health.js';
import { PROTO_LOADER_OPTIONS } from './proto-loader-options.js';

let inferenceProto: InferenceProto | undefined;
let healthProto: HealthProto | undefined;

/** The Open Inference Protocol v2 package (`inference`), loaded once per process. */
export function loadInferenceProto(): InferenceProto {
  inferenceProto ??= loadPackageDefinition(
    loadSync('inference/grpc_predict_v2.proto', PROTO_LOADER_OPTIONS),
  ) as unknown as InferenceProto;
  return inferenceProto;
}

/** The standard `grpc.health.v1` package, loaded once per process. */
export function loadHealthProto(): HealthProto {
  healthProto ??= loadPackageDefinition(loadSync('grpc/health/v1/health.proto', PROTO_LOADER_OPTIONS)) as unknown as HealthProto;
  return healthProto;
}

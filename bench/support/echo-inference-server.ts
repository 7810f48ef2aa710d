/**
 * Baseline for the worker benchmark: a grpc-js server speaking the same protocol whose
 * ModelInfer returns a fixed one-row answer without decoding, validating or running a model.
 * Prints its port on stdout.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadInferenceProto, type GRPCInferenceServiceHandlers } from '@infermesh/shared';

const FIXED_RESPONSE = {
  modelName: 'churn',
  modelVersion: 'v1',
  outputs: [{ name: 'probability', datatype: 'FP32', shape: [1, 1], contents: { fp32Contents: [0.5] } }],
};

const server = new Server();
server.addService(loadInferenceProto().inference.GRPCInferenceService.service, {
  ModelInfer: (_call, callback) => callback(null, FIXED_RESPONSE),
} as Partial<GRPCInferenceServiceHandlers> as GRPCInferenceServiceHandlers);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ port }));
});
process.on('SIGTERM', () => server.forceShutdown());

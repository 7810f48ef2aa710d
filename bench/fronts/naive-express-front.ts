/**
 * What teams write by hand in front of a gRPC model server: an express handler that turns the
 * JSON body into one grpc-js ModelInfer call per request and the answer back into JSON. No
 * validation, enrichment, experiments, events or metrics. The baseline the gateway must beat.
 * Run as `node naive-express-front.js PORT WORKER_ADDRESS PROTO_DIR`.
 */
import { credentials, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import express from 'express';

const [port, workerAddress, protoDir] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!];
const definition = loadSync('inference/grpc_predict_v2.proto', { keepCase: true, includeDirs: [protoDir] });
const proto = loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: ServiceClientConstructor } };
interface InferResponse {
  outputs: { name: string; contents: { fp32_contents: number[] } }[];
}
type InferenceClient = { ModelInfer(request: object, callback: (error: Error | null, answer: InferResponse) => void): void };
const client = new proto.inference.GRPCInferenceService(workerAddress, credentials.createInsecure()) as unknown as InferenceClient;

const app = express();
app.use(express.json());
app.post('/v1/models/:model/predict', (request, response) => {
  const { a, b, c, d = 0.1 } = request.body.inputs;
  const inferRequest = { model_name: request.params.model, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [a, b, c, d] } }] };
  client.ModelInfer(inferRequest, (error: Error | null, answer: InferResponse) => {
    if (error) return void response.status(502).json({ error: error.message });
    response.json({ outputs: { probability: answer.outputs[0]!.contents.fp32_contents } });
  });
});
app.listen(port, '127.0.0.1', () => console.log(`naive express front listening on ${port}`));
// Exit through process.exit on SIGTERM, so a `node --cpu-prof` run of this front writes its profile.
process.on('SIGTERM', () => process.exit(0));

import { credentials, type ServiceError } from '@grpc/grpc-js';
import {
  decodeInferOutputs,
  encodeInferInputs,
  isDatatype,
  loadInferenceProto,
  tensorFromJson,
  tensorToJson,
  type GRPCInferenceServiceClient,
  type ModelInferResponse__Output,
  type ModelMetadataResponse__Output,
} from '@infermesh/shared';
import { parseArgs } from 'node:util';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';

/** Seconds a CLI call may take. */
const CALL_TIMEOUT_SECONDS = 10;

/** `infermesh infer`: call a worker with JSON inputs; prints JSON outputs. */
export const inferCommand: Command = {
  help: () =>
    [
      'Usage: infermesh infer --target HOST:PORT --model NAME \'{"input": [[...]], ...}\'',
      '',
      'Reads the model metadata for datatypes, sends one ModelInfer call, prints the outputs as JSON.',
      'Inputs are nested arrays; their shape is the nesting. Example for the demo model:',
      '  infermesh infer --target 127.0.0.1:8001 --model demo \'{"features": [[0.5, 1.0, 2.0, 0.1]]}\'',
      '',
      'Options:',
      '  --target <host:port>   worker address (default 127.0.0.1:8001)',
      '  --model <name>         model name (required)',
      '  --version <v>          model version (default: whatever the worker serves)',
    ].join('\n'),
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { target: { type: 'string', default: '127.0.0.1:8001' }, model: { type: 'string' }, version: { type: 'string', default: '' } },
      allowPositionals: true,
    });
    if (values.model === undefined || positionals.length !== 1) {
      process.stderr.write('infermesh infer: --model and one JSON argument are required (see --help)\n');
      return EXIT_USAGE;
    }
    let inputs: Record<string, unknown>;
    try {
      inputs = JSON.parse(positionals[0] ?? '') as Record<string, unknown>;
    } catch (error) {
      process.stderr.write(`infermesh infer: inputs are not JSON: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
    const client = new (loadInferenceProto().inference.GRPCInferenceService)(values.target, credentials.createInsecure());
    try {
      const metadata = await call<ModelMetadataResponse__Output>(client, 'ModelMetadata', { name: values.model, version: values.version });
      const tensors = metadata.inputs.map((spec) => {
        if (!(spec.name in inputs)) throw new Error(`input '${spec.name}' missing; the model expects ${metadata.inputs.map((input) => input.name).join(', ')}`);
        if (!isDatatype(spec.datatype)) throw new Error(`input '${spec.name}' has unknown datatype ${spec.datatype}`);
        return tensorFromJson(spec.name, spec.datatype, inputs[spec.name]);
      });
      const response = await call<ModelInferResponse__Output>(client, 'ModelInfer', {
        modelName: values.model,
        modelVersion: values.version,
        ...encodeInferInputs(tensors),
      });
      const outputs = Object.fromEntries(decodeInferOutputs(response).map((tensor) => [tensor.name, tensorToJson(tensor)]));
      process.stdout.write(`${JSON.stringify({ model: response.modelName, version: response.modelVersion, outputs })}\n`);
      return 0;
    } catch (error) {
      const serviceError = error as Partial<ServiceError>;
      process.stderr.write(`infermesh infer: ${serviceError.details ?? (error as Error).message}\n`);
      return EXIT_FAILURE;
    } finally {
      client.close();
    }
  },
};

function call<Response>(client: GRPCInferenceServiceClient, method: 'ModelMetadata' | 'ModelInfer', request: object): Promise<Response> {
  const deadline = new Date(Date.now() + CALL_TIMEOUT_SECONDS * 1000);
  return new Promise((resolve, reject) => {
    (client[method] as (request: object, options: object, callback: (error: ServiceError | null, response?: Response) => void) => void).call(
      client,
      request,
      { deadline },
      (error, response) => (error ? reject(error) : resolve(response as Response)),
    );
  });
}

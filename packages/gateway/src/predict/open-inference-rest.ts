import { Ajv } from 'ajv';
import {
  elementCount,
  InfermeshError,
  isDatatype,
  tensorFromJson,
  tensorToJson,
  type Datatype,
  type EventPublisher,
  type JsonTensorValue,
  type ModelMetadataResponse__Output,
  type Tensor,
  type TensorData,
} from '@infermesh/shared';
import type { ServedModel } from '../models/served-model.js';
import { routeRequest, type VariantRouterDependencies } from '../experiments/variant-router.js';
import {
  binaryDataSizeOf,
  binaryTensorBytes,
  booleanParameter,
  decodeBinaryInputs,
  wantsBinaryOutput,
  type BinaryInputRef,
  type InferBody,
} from './binary-tensor-extension.js';
import { inferOnVariant } from './infer-on-variant.js';
import { predictionServedEvent } from './prediction-event.js';
import { predictionFacts } from './prediction-facts.js';

/** `POST /v2/models/{model}/infer` body of the Open Inference Protocol REST binding. */
const INFER_REQUEST_SCHEMA = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string' },
    parameters: { type: 'object' },
    inputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        // `data` or, with the binary tensor data extension, parameters.binary_data_size: checked per input.
        required: ['name', 'shape', 'datatype'],
        properties: {
          name: { type: 'string', minLength: 1 },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string' },
          parameters: { type: 'object' },
          data: {},
        },
      },
    },
    outputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, parameters: { type: 'object' } } } },
  },
} as const;

type Parameters = Readonly<Record<string, unknown>>;

interface RestInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data?: unknown;
}

interface RestInferRequest {
  id?: string;
  parameters?: Parameters;
  inputs: RestInput[];
  outputs?: { name: string; parameters?: Parameters }[];
}

/** What a REST inference answers: the JSON response, and the bytes of its binary outputs in output order. */
export interface RestInferResult {
  response: object;
  /** Empty when every output is JSON: then the response goes out as plain JSON. */
  binary: Buffer[];
}

/** Parameters of Triton extensions the gateway does not implement: refused rather than silently ignored. */
const UNSUPPORTED_PARAMETERS = ['shared_memory_region', 'classification'] as const;

const validateInferRequest = new Ajv({ allErrors: true, strict: false }).compile(INFER_REQUEST_SCHEMA);

function refuseUnsupported(where: string, parameters: Parameters | undefined): void {
  const unsupported = UNSUPPORTED_PARAMETERS.find((key) => parameters?.[key] !== undefined);
  if (unsupported !== undefined) {
    throw new InfermeshError('INVALID_ARGUMENT', `${where}: parameters.${unsupported} belongs to a Triton extension this gateway does not support`, {
      details: { parameter: unsupported },
    });
  }
}

function checkShape(input: RestInput, datatype: Datatype, data: TensorData): Tensor {
  const expected = elementCount(input.shape);
  if (data.length !== expected) {
    throw new InfermeshError('INVALID_TENSOR', `input '${input.name}' has shape [${input.shape.join(',')}] (${expected} elements) but data holds ${data.length}`, {
      details: { tensor: input.name },
    });
  }
  return { name: input.name, datatype, shape: input.shape, data };
}

/**
 * The request's input tensors: JSON `data` (flat or nested; the shape field is
 * authoritative) or binary data after the JSON header, cut in input order.
 */
function restTensors(inputs: readonly RestInput[], binary: Buffer | undefined): Tensor[] {
  const described = inputs.map((input) => {
    if (!isDatatype(input.datatype)) {
      throw new InfermeshError('INVALID_TENSOR', `input '${input.name}' has unknown datatype '${input.datatype}'`, { details: { tensor: input.name } });
    }
    refuseUnsupported(`input '${input.name}'`, input.parameters);
    const binaryDataSize = binaryDataSizeOf(input.name, input.parameters);
    const hasData = 'data' in input;
    if (hasData === (binaryDataSize !== undefined)) {
      const problem = hasData ? 'has both data and parameters.binary_data_size' : 'has neither data nor parameters.binary_data_size';
      throw new InfermeshError('INVALID_ARGUMENT', `input '${input.name}' ${problem}`, { details: { tensor: input.name } });
    }
    return { input, datatype: input.datatype, binaryDataSize };
  });
  const binaryRefs: BinaryInputRef[] = [];
  for (const { input, datatype, binaryDataSize } of described) {
    if (binaryDataSize !== undefined) binaryRefs.push({ name: input.name, datatype, shape: input.shape, binaryDataSize });
  }
  if (binary === undefined && binaryRefs.length > 0) {
    throw new InfermeshError('INVALID_ARGUMENT', `input '${binaryRefs[0]!.name}' has parameters.binary_data_size but the request has no Inference-Header-Content-Length header`, {
      details: { tensor: binaryRefs[0]!.name },
    });
  }
  const binaryData = binary === undefined ? [] : decodeBinaryInputs(binaryRefs, binary);
  let next = 0;
  return described.map(({ input, datatype, binaryDataSize }) => {
    if (binaryDataSize !== undefined) return checkShape(input, datatype, binaryData[next++]!);
    return checkShape(input, datatype, tensorFromJson(input.name, datatype, input.data).data);
  });
}

function jsonData(tensor: Tensor): JsonTensorValue {
  if (tensor.datatype === 'FP16') {
    throw new InfermeshError('INVALID_ARGUMENT', `output '${tensor.name}' is FP16, which has no JSON form: request it as binary data (parameters.binary_data: true)`, {
      details: { tensor: tensor.name },
    });
  }
  return [tensorToJson({ ...tensor, shape: [tensor.data.length] })].flat();
}

/**
 * Runs an Open Inference Protocol REST inference through the model's pool (no enrichment).
 * Inputs may be JSON or binary; each output is binary when asked (binary tensor data extension).
 */
/** What an Open Inference Protocol REST inference needs besides routing. */
export interface InferRestDependencies extends VariantRouterDependencies {
  /** Where `infermesh.prediction.served` goes; the answer waits until it is durable locally. */
  events: EventPublisher;
  newPredictionId: () => string;
  /** Monotonic milliseconds: the latency the event reports. */
  elapsed: () => number;
}

export async function inferRest(model: ServedModel, body: InferBody, requestId: string, dependencies: InferRestDependencies): Promise<RestInferResult> {
  const started = dependencies.elapsed();
  if (!validateInferRequest(body.request)) {
    throw new InfermeshError('INVALID_ARGUMENT', `invalid inference request: ${(validateInferRequest.errors ?? []).map((error) => `${error.instancePath || 'body'} ${error.message}`).join('; ')}`);
  }
  const request = body.request as RestInferRequest;
  const tensors = restTensors(request.inputs, body.binary);
  const binaryDataOutput = booleanParameter('the request', request.parameters, 'binary_data_output');
  const requested = new Map<string, boolean | undefined>();
  for (const output of request.outputs ?? []) {
    refuseUnsupported(`output '${output.name}'`, output.parameters);
    requested.set(output.name, booleanParameter(`output '${output.name}'`, output.parameters, 'binary_data'));
  }
  // The REST binding carries no entity: the experiment's policy picks a variant unstickily.
  const routing = routeRequest(model, {}, dependencies);
  // Batched with concurrent predictions of the same variant (/v1 and /v2 alike) when the variant batches.
  const answer = await inferOnVariant(routing.variant, {
    workerModel: model.config.workerModel ?? model.name,
    id: request.id ?? requestId,
    tensors,
    outputs: [...requested.keys()],
    deadline: new Date(dependencies.now() + model.config.deadlineMs),
    requestId,
  });
  const binary: Buffer[] = [];
  const outputs = answer.outputs.map((tensor) => {
    const described = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape };
    if (!wantsBinaryOutput(binaryDataOutput, requested.get(tensor.name))) return { ...described, data: jsonData(tensor) };
    const bytes = binaryTensorBytes(tensor);
    binary.push(bytes);
    return { ...described, parameters: { binary_data_size: bytes.length } };
  });
  const predictionId = dependencies.newPredictionId();
  // No feedback token travels in this protocol: the prediction is logged, but not rewardable; and no entity, so nothing sticky.
  await dependencies.events.publish(
    predictionServedEvent(
      predictionFacts(model, routing, {
        predictionId,
        requestId,
        version: answer.modelVersion,
        defaultReason: null,
        sticky: false,
        latencyMs: dependencies.elapsed() - started,
        defaultedFeatures: [],
        rewardable: false,
      }),
      '',
      {},
      undefined,
      dependencies.random,
    ),
  );
  return {
    // The request's id when it named one, else the gateway's request id: what the worker would echo.
    response: { model_name: model.name, model_version: answer.modelVersion, id: request.id ?? requestId, outputs },
    binary,
  };
}

/** Open Inference Protocol REST model metadata, under the gateway's model name. */
export function restMetadata(name: string, metadata: ModelMetadataResponse__Output): object {
  const spec = (tensor: ModelMetadataResponse__Output['inputs'][number]) => ({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape.map(Number) });
  return { name, versions: metadata.versions, platform: metadata.platform, inputs: metadata.inputs.map(spec), outputs: metadata.outputs.map(spec) };
}

import { Ajv } from 'ajv';
import {
  decodeInferOutputs,
  elementCount,
  encodeInferInputs,
  InfermeshError,
  isDatatype,
  tensorFromJson,
  tensorToJson,
  type ModelMetadataResponse__Output,
  type Tensor,
} from '@infermesh/shared';
import type { ServedModel } from '../models/served-model.js';
import { routeRequest, type VariantRouterDependencies } from '../experiments/variant-router.js';

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
        required: ['name', 'shape', 'datatype', 'data'],
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

interface RestInferRequest {
  id?: string;
  inputs: { name: string; shape: number[]; datatype: string; data: unknown }[];
  outputs?: { name: string }[];
}

const validateInferRequest = new Ajv({ allErrors: true, strict: false }).compile(INFER_REQUEST_SCHEMA);

function restTensor(input: RestInferRequest['inputs'][number]): Tensor {
  if (!isDatatype(input.datatype)) {
    throw new InfermeshError('INVALID_TENSOR', `input '${input.name}' has unknown datatype '${input.datatype}'`, { details: { tensor: input.name } });
  }
  // The REST binding allows data flat (row-major) or nested: the shape field is authoritative.
  const parsed = tensorFromJson(input.name, input.datatype, input.data);
  const expected = elementCount(input.shape);
  if (parsed.data.length !== expected) {
    throw new InfermeshError('INVALID_TENSOR', `input '${input.name}' has shape [${input.shape.join(',')}] (${expected} elements) but data holds ${parsed.data.length}`, {
      details: { tensor: input.name },
    });
  }
  return { ...parsed, shape: input.shape };
}

/** Runs an Open Inference Protocol REST inference through the model's pool (no enrichment). */
export async function inferRest(model: ServedModel, body: unknown, requestId: string, dependencies: VariantRouterDependencies): Promise<object> {
  if (!validateInferRequest(body)) {
    throw new InfermeshError('INVALID_ARGUMENT', `invalid inference request: ${(validateInferRequest.errors ?? []).map((error) => `${error.instancePath || 'body'} ${error.message}`).join('; ')}`);
  }
  const request = body as RestInferRequest;
  const tensors = request.inputs.map(restTensor);
  // The REST binding carries no entity: the experiment's policy picks a variant unstickily.
  const result = await routeRequest(model, {}, dependencies).variant.pool.infer(
    {
      modelName: model.config.workerModel ?? model.name,
      id: request.id ?? requestId,
      ...encodeInferInputs(tensors),
      outputs: (request.outputs ?? []).map((output) => ({ name: output.name })),
    },
    { deadline: new Date(dependencies.now() + model.config.deadlineMs), requestId },
  );
  return {
    model_name: model.name,
    model_version: result.response.modelVersion,
    id: result.response.id,
    outputs: decodeInferOutputs(result.response).map((tensor) => ({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: tensor.shape,
      data: [tensorToJson({ ...tensor, shape: [tensor.data.length] })].flat(),
    })),
  };
}

/** Open Inference Protocol REST model metadata, under the gateway's model name. */
export function restMetadata(name: string, metadata: ModelMetadataResponse__Output): object {
  const spec = (tensor: ModelMetadataResponse__Output['inputs'][number]) => ({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape.map(Number) });
  return { name, versions: metadata.versions, platform: metadata.platform, inputs: metadata.inputs.map(spec), outputs: metadata.outputs.map(spec) };
}

import {
  InfermeshError,
  decodeRawTensor,
  decodeTensorContents,
  describeSpec,
  elementCount,
  isDatatype,
  type ModelInferRequest__Output,
  type Tensor,
  type TensorSpec,
} from '@infermesh/shared';

/** A validated inference request, ready for a runtime. */
export interface DecodedInferRequest {
  inputs: Map<string, Tensor>;
  /** Outputs to return, in the order the client asked (all outputs if it asked for none). */
  outputNames: string[];
  /** Answer in raw_output_contents when the client sent raw_input_contents, as Triton does. */
  rawOutput: boolean;
}

/** What a model expects; the subset of a runtime this module needs. */
export interface ModelSignature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

function invalid(message: string, details: Record<string, unknown>): InfermeshError {
  return new InfermeshError('INVALID_TENSOR', message, { details });
}

function parseShape(name: string, shape: readonly string[]): number[] {
  return shape.map((dim) => {
    const value = Number(dim);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalid(`input '${name}' has invalid dimension ${dim} in its shape; dimensions must be non-negative integers`, { tensor: name });
    }
    return value;
  });
}

function checkShape(spec: TensorSpec, shape: readonly number[]): void {
  const matches = shape.length === spec.shape.length && spec.shape.every((dim, index) => dim === -1 || dim === shape[index]);
  if (!matches) {
    throw invalid(`input '${spec.name}' has shape [${shape.join(',')}]; expected ${describeSpec(spec)} (-1 = any size)`, {
      tensor: spec.name,
      expectedShape: spec.shape,
      actualShape: shape,
    });
  }
}

function checkBatchAgreement(signature: ModelSignature, inputs: Map<string, Tensor>): void {
  // Inputs whose first dimension is variable share the batch: different sizes are a client error
  // the runtime would otherwise report as an opaque failure.
  let batch: { name: string; size: number } | undefined;
  for (const spec of signature.inputs) {
    if (spec.shape[0] !== -1) continue;
    const size = inputs.get(spec.name)?.shape[0];
    if (size === undefined) continue;
    if (batch === undefined) batch = { name: spec.name, size };
    else if (batch.size !== size) {
      throw invalid(`inputs '${batch.name}' and '${spec.name}' disagree on the batch size (${batch.size} vs ${size})`, {
        tensors: [batch.name, spec.name],
      });
    }
  }
}

/**
 * Checks a ModelInfer request against the model's signature and decodes its tensors. Every
 * failure is INVALID_TENSOR naming the tensor and what was expected.
 */
export function decodeInferRequest(request: ModelInferRequest__Output, signature: ModelSignature): DecodedInferRequest {
  const expected = new Map(signature.inputs.map((spec) => [spec.name, spec]));
  const expectedList = signature.inputs.map((spec) => `${spec.name} (${describeSpec(spec)})`).join(', ');
  const rawOutput = request.rawInputContents.length > 0;
  if (rawOutput && request.rawInputContents.length !== request.inputs.length) {
    throw invalid(`raw_input_contents has ${request.rawInputContents.length} entries for ${request.inputs.length} inputs; send one per input or none`, {});
  }

  const inputs = new Map<string, Tensor>();
  request.inputs.forEach((input, index) => {
    const spec = expected.get(input.name);
    if (spec === undefined) throw invalid(`unknown input '${input.name}'; the model expects ${expectedList}`, { tensor: input.name, expected: expectedList });
    if (inputs.has(input.name)) throw invalid(`input '${input.name}' is given twice`, { tensor: input.name });
    if (!isDatatype(input.datatype)) {
      throw invalid(`input '${input.name}' has unknown datatype '${input.datatype}'; expected ${spec.datatype}`, { tensor: input.name });
    }
    if (input.datatype !== spec.datatype) {
      throw invalid(`input '${input.name}' has datatype ${input.datatype}; expected ${spec.datatype}`, {
        tensor: input.name,
        expectedDatatype: spec.datatype,
        actualDatatype: input.datatype,
      });
    }
    const shape = parseShape(input.name, input.shape);
    checkShape(spec, shape);
    const raw = request.rawInputContents[index];
    const hasContents = input.contents !== null && Object.values(input.contents).some((values) => values.length > 0);
    if (raw !== undefined && hasContents) {
      throw invalid(`input '${input.name}' carries both contents and raw_input_contents; send one`, { tensor: input.name });
    }
    const data =
      raw !== undefined
        ? decodeRawTensor(input.name, spec.datatype, raw)
        : decodeTensorContents(input.name, spec.datatype, input.contents ?? emptyContents());
    const count = elementCount(shape);
    if (data.length !== count) {
      throw invalid(`input '${input.name}' has shape [${shape.join(',')}] (${count} elements) but carries ${data.length}`, {
        tensor: input.name,
        expectedElements: count,
        actualElements: data.length,
      });
    }
    inputs.set(input.name, { name: input.name, datatype: spec.datatype, shape, data });
  });

  const missing = signature.inputs.filter((spec) => !inputs.has(spec.name));
  if (missing.length > 0) {
    throw invalid(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((spec) => `'${spec.name}' (${describeSpec(spec)})`).join(', ')}`, {
      missing: missing.map((spec) => spec.name),
    });
  }
  checkBatchAgreement(signature, inputs);

  const outputNames = new Set(signature.outputs.map((spec) => spec.name));
  const requested = request.outputs.map((output) => output.name);
  const unknown = requested.find((name) => !outputNames.has(name));
  if (unknown !== undefined) {
    throw invalid(`unknown output '${unknown}'; the model returns ${[...outputNames].join(', ')}`, { tensor: unknown });
  }
  return { inputs, outputNames: requested.length > 0 ? requested : [...outputNames], rawOutput };
}

function emptyContents(): NonNullable<ModelInferRequest__Output['inputs'][number]['contents']> {
  return {
    boolContents: [],
    intContents: [],
    int64Contents: [],
    uintContents: [],
    uint64Contents: [],
    fp32Contents: [],
    fp64Contents: [],
    bytesContents: [],
  };
}

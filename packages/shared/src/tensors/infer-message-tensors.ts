import type { ModelInferRequest } from '../generated/inference/ModelInferRequest.js';
import type { ModelInferResponse__Output } from '../generated/inference/ModelInferResponse.js';
import { InfermeshError } from '../errors/infermesh-error.js';
import { decodeTensorContents } from './contents-tensor-codec.js';
import { isDatatype } from './datatype.js';
import { decodeRawTensor, encodeRawTensor } from './raw-tensor-codec.js';
import type { Tensor } from './tensor.js';

/** The inputs part of a ModelInferRequest for `tensors`, in raw form (the compact one on the wire). */
export function encodeInferInputs(tensors: readonly Tensor[]): Pick<ModelInferRequest, 'inputs' | 'rawInputContents'> {
  return {
    inputs: tensors.map((tensor) => ({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape })),
    rawInputContents: tensors.map((tensor) => encodeRawTensor(tensor.data)),
  };
}

/** The output tensors of a ModelInferResponse, whichever form (typed or raw) the server used. */
export function decodeInferOutputs(response: ModelInferResponse__Output): Tensor[] {
  return response.outputs.map((output, index) => {
    if (!isDatatype(output.datatype)) throw new InfermeshError('INTERNAL', `output '${output.name}' has unknown datatype ${output.datatype}`);
    const raw = response.rawOutputContents[index];
    const data =
      raw !== undefined
        ? decodeRawTensor(output.name, output.datatype, raw)
        : decodeTensorContents(output.name, output.datatype, output.contents ?? emptyContents());
    return { name: output.name, datatype: output.datatype, shape: output.shape.map(Number), data };
  });
}

function emptyContents() {
  return { boolContents: [], intContents: [], int64Contents: [], uintContents: [], uint64Contents: [], fp32Contents: [], fp64Contents: [], bytesContents: [] };
}

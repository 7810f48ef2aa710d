import { contentsFieldFor, encodeRawTensor, encodeTensorContents, type ModelInferResponse, type Tensor } from '@infermesh/shared';

/** Identity of the model that computed a response. */
export interface ResponseIdentity {
  modelName: string;
  modelVersion: string;
  requestId: string;
}

/** Builds a ModelInferResponse; raw form when asked or when a datatype has no typed field (FP16). */
export function encodeInferResponse(identity: ResponseIdentity, outputs: readonly Tensor[], raw: boolean): ModelInferResponse {
  const useRaw = raw || outputs.some((tensor) => contentsFieldFor(tensor.datatype) === undefined);
  return {
    modelName: identity.modelName,
    modelVersion: identity.modelVersion,
    id: identity.requestId,
    outputs: outputs.map((tensor) => ({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: tensor.shape,
      ...(useRaw ? {} : { contents: encodeTensorContents(tensor.datatype, tensor.data) }),
    })),
    ...(useRaw ? { rawOutputContents: outputs.map((tensor) => encodeRawTensor(tensor.data)) } : {}),
  };
}

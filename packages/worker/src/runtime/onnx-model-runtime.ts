import ort from 'onnxruntime-node';
import { InfermeshError, type Datatype, type Tensor, type TensorSpec } from '@infermesh/shared';
import type { ModelRuntime } from './model-runtime.js';

/** Options of the ONNX runtime. */
export interface OnnxRuntimeOptions {
  /** Threads one inference may use; 0 lets onnxruntime decide. */
  intraOpThreads: number;
}

const DATATYPE_BY_ORT_TYPE: Readonly<Record<string, Datatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const ORT_TYPE_BY_DATATYPE = Object.fromEntries(
  Object.entries(DATATYPE_BY_ORT_TYPE).map(([ortType, datatype]) => [datatype, ortType]),
) as Record<Datatype, ort.Tensor.Type>;

function toSpec(metadata: ort.InferenceSession.ValueMetadata, path: string): TensorSpec {
  const datatype = metadata.isTensor ? DATATYPE_BY_ORT_TYPE[metadata.type] : undefined;
  if (!metadata.isTensor || datatype === undefined) {
    throw new InfermeshError('ARTIFACT_UNSUPPORTED_FORMAT', `ONNX model ${path}: value '${metadata.name}' is not a tensor of a supported type`);
  }
  // Named (symbolic) and negative dimensions are variable: -1 in the protocol.
  const shape = metadata.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
  return { name: metadata.name, datatype, shape };
}

/** Loads an ONNX model; a file onnxruntime cannot parse is ARTIFACT_CORRUPT. */
export async function loadOnnxRuntime(path: string, options: OnnxRuntimeOptions): Promise<ModelRuntime> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
    });
  } catch (error) {
    throw new InfermeshError('ARTIFACT_CORRUPT', `artifact ${path} is not a loadable ONNX model: ${(error as Error).message}`, { cause: error });
  }
  const inputs = session.inputMetadata.map((metadata) => toSpec(metadata, path));
  const outputs = session.outputMetadata.map((metadata) => toSpec(metadata, path));
  return {
    platform: 'onnxruntime_onnx',
    inputs,
    outputs,
    async infer(tensors, outputNames) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const tensor of tensors.values()) feeds[tensor.name] = toOrtTensor(tensor);
      const results = await session.run(feeds, [...outputNames]);
      return outputNames.map((name) => fromOrtTensor(name, results[name]));
    },
    async dispose() {
      await session.release();
    },
  };
}

function toOrtTensor(tensor: Tensor): ort.Tensor {
  const type = ORT_TYPE_BY_DATATYPE[tensor.datatype];
  if (Array.isArray(tensor.data)) return new ort.Tensor('string', tensor.data.map((element) => element.toString('utf8')), tensor.shape);
  return new ort.Tensor(type, tensor.data as Float32Array, tensor.shape);
}

function fromOrtTensor(name: string, value: ort.OnnxValue | undefined): Tensor {
  if (value === undefined || !(value instanceof ort.Tensor)) {
    throw new InfermeshError('INFERENCE_FAILED', `the model returned no tensor for output '${name}'`);
  }
  const datatype = DATATYPE_BY_ORT_TYPE[value.type];
  if (datatype === undefined) throw new InfermeshError('INFERENCE_FAILED', `output '${name}' has unsupported type ${value.type}`);
  const data = value.type === 'string' ? (value.data as string[]).map((element) => Buffer.from(element, 'utf8')) : (value.data as Float32Array);
  return { name, datatype, shape: [...value.dims], data };
}

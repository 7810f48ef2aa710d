import protobuf from 'protobufjs';
import { ONNX_SUBSET_SCHEMA } from './onnx-subset-schema.js';

/** ONNX TensorProto.DataType numbers, by the names used here. */
export const ONNX_TYPES = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  DOUBLE: 11,
} as const;

/** ONNX element type name. */
export type OnnxType = keyof typeof ONNX_TYPES;

/** A graph input or output: -1 or a string in `shape` is a named variable dimension. */
export interface ValueInfo {
  name: string;
  type: OnnxType;
  shape: (number | string)[];
}

/** A constant baked into the model (weights, biases). */
export interface Initializer {
  name: string;
  type: 'FLOAT' | 'DOUBLE' | 'INT32' | 'INT64';
  dims: number[];
  values: number[];
}

/** One operator application. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[]>;
}

/** Everything a small single-graph model needs. */
export interface ModelDescription {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: Initializer[];
  nodes: OnnxNode[];
  /** Default opset version of the ai.onnx domain. */
  opset?: number;
  metadata?: Record<string, string>;
}

/** IR version 8 is read by every onnxruntime since 1.14. */
const IR_VERSION = 8;
/** Opset 17 has every operator the demo and test models use. */
const DEFAULT_OPSET = 17;

let modelType: protobuf.Type | undefined;

function onnxModelType(): protobuf.Type {
  if (!modelType) {
    modelType = protobuf.Root.fromJSON(ONNX_SUBSET_SCHEMA).lookupType('onnx.ModelProto');
  }
  return modelType;
}

function valueInfo(info: ValueInfo): object {
  return {
    name: info.name,
    type: {
      tensorType: {
        elemType: ONNX_TYPES[info.type],
        shape: {
          dim: info.shape.map((dim, index) =>
            typeof dim === 'string' || dim < 0 ? { dimParam: typeof dim === 'string' ? dim : `d${index}` } : { dimValue: dim },
          ),
        },
      },
    },
  };
}

function initializerBytes(initializer: Initializer): Buffer {
  switch (initializer.type) {
    case 'FLOAT':
      return Buffer.from(Float32Array.from(initializer.values).buffer);
    case 'DOUBLE':
      return Buffer.from(Float64Array.from(initializer.values).buffer);
    case 'INT32':
      return Buffer.from(Int32Array.from(initializer.values).buffer);
    case 'INT64':
      return Buffer.from(BigInt64Array.from(initializer.values, (value) => BigInt(value)).buffer);
  }
}

function attribute(name: string, value: number | number[]): object {
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  return Number.isInteger(value) ? { name, type: 2, i: value } : { name, type: 1, f: value };
}

/** Serialises a model description to ONNX protobuf bytes. */
export function buildOnnxModel(description: ModelDescription): Buffer {
  const type = onnxModelType();
  const message = type.fromObject({
    irVersion: IR_VERSION,
    producerName: 'infermesh',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: description.opset ?? DEFAULT_OPSET }],
    metadataProps: Object.entries(description.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: description.name,
      input: description.inputs.map(valueInfo),
      output: description.outputs.map(valueInfo),
      initializer: (description.initializers ?? []).map((initializer) => ({
        name: initializer.name,
        dataType: ONNX_TYPES[initializer.type],
        dims: initializer.dims,
        rawData: initializerBytes(initializer),
      })),
      node: description.nodes.map((node, index) => ({
        name: `${node.op.toLowerCase()}_${index}`,
        opType: node.op,
        input: node.inputs,
        output: node.outputs,
        attribute: Object.entries(node.attributes ?? {}).map(([name, value]) => attribute(name, value)),
      })),
    },
  });
  return Buffer.from(type.encode(message).finish());
}

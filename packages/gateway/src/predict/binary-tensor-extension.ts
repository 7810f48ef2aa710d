import {
  decodeRawTensor,
  elementByteSize,
  elementCount,
  encodeRawTensor,
  InfermeshError,
  type Datatype,
  type Tensor,
  type TensorData,
} from '@infermesh/shared';

/**
 * The binary tensor data extension of the Open Inference Protocol REST binding (as Triton
 * defines it): a body is a JSON header followed by the tensors' little-endian bytes, the
 * header's length given by Inference-Header-Content-Length. Element layouts are those of
 * gRPC's raw contents, so shared's raw codec reads and writes them.
 */

/** Name of the extension in `GET /v2`'s `extensions`. */
export const BINARY_TENSOR_DATA_EXTENSION = 'binary_tensor_data';

/** Header giving the byte length of the JSON part of a request or response body (lower case, as Node sees it). */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

/** Content type of a response that carries binary tensor data. */
export const BINARY_BODY_CONTENT_TYPE = 'application/octet-stream';

/** Digits only: no sign, no exponent, no fraction, no spaces. */
const HEADER_LENGTH_PATTERN = /^\d+$/;

/** A request body split into its parsed JSON header and the binary data after it. */
export interface InferBody {
  /** The JSON inference request, not yet validated. */
  request: unknown;
  /** Bytes after the JSON header; undefined when the request used no Inference-Header-Content-Length. */
  binary: Buffer | undefined;
}

/** An input whose data travels in the binary part, as its JSON header describes it. */
export interface BinaryInputRef {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  /** `parameters.binary_data_size`: its bytes in the binary part. */
  binaryDataSize: number;
}

/** A response body framed by the extension. */
export interface FramedResponse {
  body: Buffer;
  /** Value of Inference-Header-Content-Length: the JSON header's bytes. */
  headerLength: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses Inference-Header-Content-Length strictly: a non-negative decimal integer no larger
 * than the body. Anything else (a sign, NaN, an exponent, repeated headers) is a 400.
 */
export function parseHeaderLength(value: string, bodyLength: number): number {
  const length = HEADER_LENGTH_PATTERN.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(length)) {
    throw new InfermeshError('INVALID_ARGUMENT', `Inference-Header-Content-Length must be a non-negative integer, got '${value.slice(0, 40)}'`, {
      details: { header: 'Inference-Header-Content-Length' },
    });
  }
  if (length > bodyLength) {
    throw new InfermeshError('INVALID_ARGUMENT', `Inference-Header-Content-Length is ${length} but the body has only ${bodyLength} bytes`, {
      details: { header: 'Inference-Header-Content-Length', headerLength: length, bodyLength },
    });
  }
  return length;
}

/**
 * Splits a request body into its JSON header (parsed) and binary part. Without
 * Inference-Header-Content-Length the whole body is the JSON request.
 */
export function parseInferBody(body: Buffer, headerLength: string | undefined): InferBody {
  const jsonLength = headerLength === undefined ? body.length : parseHeaderLength(headerLength, body.length);
  const json = body.subarray(0, jsonLength);
  let request: unknown;
  try {
    request = JSON.parse(utf8.decode(json)) as unknown;
  } catch (error) {
    const what = headerLength === undefined ? 'request body' : `JSON header (the first ${jsonLength} bytes of the body)`;
    throw new InfermeshError('MALFORMED_JSON', `${what} is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  return { request, binary: headerLength === undefined ? undefined : body.subarray(jsonLength) };
}

/**
 * Cuts the binary part into the data of the inputs that announced `binary_data_size`, in
 * input order. The sizes must add up to exactly the bytes present, and each must match its
 * input's shape and datatype.
 */
export function decodeBinaryInputs(inputs: readonly BinaryInputRef[], binary: Buffer): TensorData[] {
  let announced = 0;
  for (const input of inputs) {
    if (!Number.isSafeInteger(input.binaryDataSize) || input.binaryDataSize < 0) throw invalidSize(input.name, input.binaryDataSize);
    announced += input.binaryDataSize;
  }
  if (announced !== binary.length) {
    const names = inputs.map((input) => `'${input.name}' ${input.binaryDataSize}`).join(', ');
    throw new InfermeshError(
      'INVALID_ARGUMENT',
      `the inputs announce ${announced} bytes of binary data (parameters.binary_data_size: ${names || 'none'}) but ${binary.length} bytes follow the JSON header`,
      { details: { announced, present: binary.length } },
    );
  }
  let offset = 0;
  return inputs.map((input) => {
    const bytes = binary.subarray(offset, offset + input.binaryDataSize);
    offset += input.binaryDataSize;
    return decodeBinaryTensor(input, bytes);
  });
}

/**
 * `parameters.binary_data_size` of an input: undefined when absent, else it must be a
 * non-negative integer (a 400 naming the input otherwise).
 */
export function binaryDataSizeOf(input: string, parameters: Readonly<Record<string, unknown>> | undefined): number | undefined {
  const size = parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalidSize(input, size);
  return size;
}

/**
 * A boolean parameter of the extension (`binary_data` of an output, `binary_data_output` of
 * the request): undefined when absent, a 400 naming `where` when not a boolean.
 */
export function booleanParameter(where: string, parameters: Readonly<Record<string, unknown>> | undefined, key: string): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined || typeof value === 'boolean') return value;
  throw new InfermeshError('INVALID_ARGUMENT', `${where}: parameters.${key} must be true or false, got ${JSON.stringify(value)?.slice(0, 40)}`, {
    details: { parameter: key },
  });
}

function invalidSize(input: string, size: unknown): InfermeshError {
  return new InfermeshError('INVALID_ARGUMENT', `input '${input}': parameters.binary_data_size must be a non-negative integer, got ${JSON.stringify(size)?.slice(0, 40)}`, {
    details: { tensor: input },
  });
}

/** Decodes one input's binary data, checking it against the shape the header declared. */
export function decodeBinaryTensor(input: BinaryInputRef, bytes: Buffer): TensorData {
  const count = elementCount(input.shape);
  const shape = `[${input.shape.join(',')}]`;
  if (input.datatype !== 'BYTES') {
    const size = elementByteSize(input.datatype);
    if (bytes.length !== count * size) {
      throw new InfermeshError(
        'INVALID_TENSOR',
        `input '${input.name}' is ${input.datatype} ${shape}: its binary data must be ${count * size} bytes (${count} elements of ${size}), but binary_data_size is ${bytes.length}`,
        { details: { tensor: input.name, expectedBytes: count * size, binaryDataSize: bytes.length } },
      );
    }
  }
  const data = decodeRawTensor(input.name, input.datatype, bytes);
  if (input.datatype === 'BYTES' && data.length !== count) {
    throw new InfermeshError('INVALID_TENSOR', `input '${input.name}' is BYTES ${shape} (${count} elements) but its binary data holds ${data.length} elements`, {
      details: { tensor: input.name, expectedElements: count, elements: data.length },
    });
  }
  if (input.datatype === 'BOOL') {
    const index = (data as Uint8Array).findIndex((value) => value > 1);
    if (index >= 0) {
      throw new InfermeshError('INVALID_TENSOR', `input '${input.name}' is BOOL: element ${index} is byte ${(data as Uint8Array)[index]}, not 0 or 1`, {
        details: { tensor: input.name, index },
      });
    }
  }
  return data;
}

/**
 * Whether an output goes back as binary data: the output's own `binary_data` decides when
 * given, else the request's `binary_data_output`.
 */
export function wantsBinaryOutput(requestBinaryDataOutput: boolean | undefined, outputBinaryData: boolean | undefined): boolean {
  return outputBinaryData ?? requestBinaryDataOutput ?? false;
}

/** An output tensor's bytes in the extension's layout (BOOL as single 0/1 bytes, BYTES length-prefixed). */
export function binaryTensorBytes(tensor: Tensor): Buffer {
  if (tensor.datatype === 'BOOL') return encodeRawTensor(Uint8Array.from(tensor.data as Uint8Array, (value) => (value === 0 ? 0 : 1)));
  return encodeRawTensor(tensor.data);
}

/** Frames a response: the JSON header, then the binary outputs' bytes in output order. */
export function frameBinaryResponse(header: object, parts: readonly Buffer[]): FramedResponse {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...parts]), headerLength: json.length };
}

/** Tensor element types of the Open Inference Protocol, by their wire names. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

/** A tensor element type, e.g. `FP32`. */
export type Datatype = (typeof DATATYPES)[number];

const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);

/** Whether a string names a known datatype. */
export function isDatatype(value: string): value is Datatype {
  return DATATYPE_SET.has(value);
}

/** Bytes per element in the raw (little-endian) encoding; BYTES has no fixed size. */
export function elementByteSize(datatype: Exclude<Datatype, 'BYTES'>): number {
  switch (datatype) {
    case 'BOOL':
    case 'UINT8':
    case 'INT8':
      return 1;
    case 'UINT16':
    case 'INT16':
    case 'FP16':
      return 2;
    case 'UINT32':
    case 'INT32':
    case 'FP32':
      return 4;
    case 'UINT64':
    case 'INT64':
    case 'FP64':
      return 8;
  }
}

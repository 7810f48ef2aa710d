import { readFile } from 'node:fs/promises';
import { InfermeshError, type Tensor, type TensorSpec } from '@infermesh/shared';
import type { ModelRuntime } from './model-runtime.js';

/** Output holding each found record (without its key) as JSON text. */
export const LOOKUP_VALUE_OUTPUT = 'value';
/** Output telling, per key, whether the table has it. */
export const LOOKUP_FOUND_OUTPUT = 'found';
/** JSON text returned for a key the table does not have. */
const MISSING_VALUE = Buffer.from('null');

/**
 * Loads a precomputed table (JSON lines, one object per line, keyed by `keyField`): the
 * shape of "similar products for product 42". The input is named after the key field and is
 * INT64 when every key is an integer, BYTES otherwise.
 */
export async function loadLookupRuntime(path: string, keyField: string): Promise<ModelRuntime> {
  const table = new Map<string, Buffer>();
  let integerKeys = true;
  const lines = (await readFile(path, 'utf8')).split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new InfermeshError('ARTIFACT_CORRUPT', `lookup table ${path}, line ${index + 1}: not JSON (${(error as Error).message})`, { cause: error });
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new InfermeshError('ARTIFACT_CORRUPT', `lookup table ${path}, line ${index + 1}: expected a JSON object`);
    }
    const { [keyField]: key, ...value } = record as Record<string, unknown>;
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new InfermeshError('ARTIFACT_CORRUPT', `lookup table ${path}, line ${index + 1}: key field '${keyField}' is missing or not a string/number`);
    }
    if (typeof key !== 'number' || !Number.isSafeInteger(key)) integerKeys = false;
    table.set(String(key), Buffer.from(JSON.stringify(value)));
  });
  if (table.size === 0) throw new InfermeshError('ARTIFACT_CORRUPT', `lookup table ${path} has no records`);

  const input: TensorSpec = { name: keyField, datatype: integerKeys ? 'INT64' : 'BYTES', shape: [-1] };
  return {
    platform: 'infermesh_lookup',
    inputs: [input],
    outputs: [
      { name: LOOKUP_VALUE_OUTPUT, datatype: 'BYTES', shape: [-1] },
      { name: LOOKUP_FOUND_OUTPUT, datatype: 'BOOL', shape: [-1] },
    ],
    async infer(tensors, outputNames) {
      const keys = tensors.get(keyField);
      if (keys === undefined) throw new InfermeshError('INVALID_TENSOR', `input '${keyField}' is required`);
      const keyStrings = Array.isArray(keys.data) ? keys.data.map((key) => key.toString('utf8')) : Array.from(keys.data as BigInt64Array, String);
      const values = keyStrings.map((key) => table.get(key));
      const outputs: Tensor[] = [];
      for (const name of outputNames) {
        if (name === LOOKUP_VALUE_OUTPUT) {
          outputs.push({ name, datatype: 'BYTES', shape: [values.length], data: values.map((value) => value ?? MISSING_VALUE) });
        } else {
          outputs.push({ name, datatype: 'BOOL', shape: [values.length], data: Uint8Array.from(values, (value) => (value ? 1 : 0)) });
        }
      }
      return outputs;
    },
    async dispose() {
      table.clear();
    },
  };
}

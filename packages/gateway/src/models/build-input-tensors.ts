import { elementCount, InfermeshError, tensorFromJson, type Tensor } from '@infermesh/shared';
import type { ModelConfig } from './model-config.js';

/** Where tensor sources are read from. */
export interface TensorSources {
  inputs: Record<string, unknown>;
  features: Record<string, unknown>;
  entity: Record<string, string | number>;
}

/**
 * Assembles each input tensor of the worker model (batch of one row) from the request and
 * the enriched features. A feature with neither a value nor a default is MISSING_FEATURE (422).
 */
export function buildInputTensors(config: ModelConfig, sources: TensorSources): Tensor[] {
  const missing: string[] = [];
  const tensors = Object.entries(config.tensors).map(([name, mapping]) => {
    const row: unknown[] = [];
    for (const source of mapping.from) {
      const [kind, ...rest] = source.split('.');
      const key = rest.join('.');
      const value = kind === 'inputs' ? sources.inputs[key] : kind === 'features' ? sources.features[key] : sources.entity[key];
      if (value === undefined || value === null) {
        missing.push(source);
        continue;
      }
      if (Array.isArray(value)) row.push(...(value as unknown[]));
      else row.push(value);
    }
    return { name, mapping, row };
  });
  if (missing.length > 0) {
    throw new InfermeshError('MISSING_FEATURE', `missing after enrichment: ${missing.join(', ')} (no value and no default)`, { details: { missing } });
  }
  return tensors.map(({ name, mapping, row }) => {
    const expected = elementCount(mapping.shape);
    if (row.length !== expected) {
      throw new InfermeshError('INVALID_ARGUMENT', `tensor '${name}' needs ${expected} elements from ${mapping.from.join(', ')} but they hold ${row.length}`, {
        details: { tensor: name, expected, actual: row.length },
      });
    }
    const tensor = tensorFromJson(name, mapping.datatype, row);
    return { ...tensor, shape: [1, ...mapping.shape] };
  });
}

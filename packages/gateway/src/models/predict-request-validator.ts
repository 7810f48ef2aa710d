import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InfermeshError } from '@infermesh/shared';
import type { InputFieldSpec, ModelConfig } from './model-config.js';

/** A validated `POST /v1/models/{model}/predict` body. */
export interface PredictBody {
  entity: Record<string, string | number>;
  inputs: Record<string, unknown>;
  context?: Record<string, unknown>;
}

function fieldSchema(spec: InputFieldSpec): object {
  const bounds = { ...(spec.minimum === undefined ? {} : { minimum: spec.minimum }), ...(spec.maximum === undefined ? {} : { maximum: spec.maximum }) };
  switch (spec.type) {
    case 'number[]':
      return { type: 'array', items: { type: 'number', ...bounds } };
    case 'string[]':
      return { type: 'array', items: { type: 'string' } };
    default:
      return { type: spec.type, ...bounds };
  }
}

/** Compiles the body schema of one model: its entity keys and its declared input fields, nothing else. */
export function compilePredictValidator(model: string, config: ModelConfig): (body: unknown) => PredictBody {
  const requiredInputs = Object.entries(config.inputs)
    .filter(([, spec]) => spec.required !== false && spec.default === undefined)
    .map(([name]) => name);
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: [...(config.entityKeys.length > 0 ? ['entity'] : []), ...(requiredInputs.length > 0 ? ['inputs'] : [])],
    properties: {
      entity: {
        type: 'object',
        required: config.entityKeys,
        additionalProperties: { type: ['string', 'integer'] },
      },
      inputs: {
        type: 'object',
        required: requiredInputs,
        additionalProperties: false,
        properties: Object.fromEntries(Object.entries(config.inputs).map(([name, spec]) => [name, fieldSchema(spec)])),
      },
      context: { type: 'object' },
    },
  };
  const validate: ValidateFunction = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const known = Object.keys(config.inputs);
  return (body) => {
    if (!validate(body)) {
      const errors = validate.errors ?? [];
      throw new InfermeshError('INVALID_ARGUMENT', errors.map((error) => describe(error, known)).join('; '), {
        details: { model, problems: errors.map((error) => ({ field: fieldOf(error), problem: describe(error, known) })) },
      });
    }
    const typed = body as Partial<PredictBody>;
    const inputs = { ...typed.inputs };
    for (const [name, spec] of Object.entries(config.inputs)) if (inputs[name] === undefined && spec.default !== undefined) inputs[name] = spec.default;
    return { entity: typed.entity ?? {}, inputs, ...(typed.context ? { context: typed.context } : {}) };
  };
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.split('/').filter(Boolean).join('.');
  if (error.keyword === 'required') return [path, String(error.params.missingProperty)].filter(Boolean).join('.');
  if (error.keyword === 'additionalProperties') return [path, String(error.params.additionalProperty)].filter(Boolean).join('.');
  return path || '(body)';
}

function describe(error: ErrorObject, knownInputs: string[]): string {
  const field = fieldOf(error);
  switch (error.keyword) {
    case 'required':
      return `${field} is required`;
    case 'additionalProperties':
      return field.startsWith('inputs.')
        ? `${field} is not an input of this model (inputs: ${knownInputs.join(', ') || 'none'})`
        : `${field} is not allowed (body fields: entity, inputs, context)`;
    case 'type':
      return `${field} must be ${String(error.params.type).replace(',', ' or ')}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

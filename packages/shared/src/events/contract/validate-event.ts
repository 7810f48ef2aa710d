import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { EVENT_DATA_SCHEMAS, EVENT_ENVELOPE_SCHEMA } from './event-schemas.js';
import { EVENT_TYPES, isEventType, type EventType } from './event-types.js';

interface CompiledSchemas {
  envelope: ValidateFunction;
  data: Map<EventType, ValidateFunction>;
}

let compiled: CompiledSchemas | undefined;

/** Compiles the schemas on first use, once per process. */
function schemas(): CompiledSchemas {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    compiled = {
      envelope: ajv.compile(EVENT_ENVELOPE_SCHEMA),
      data: new Map(EVENT_TYPES.map((type) => [type, ajv.compile(EVENT_DATA_SCHEMAS[type])])),
    };
  }
  return compiled;
}

function describe(prefix: string, error: ErrorObject): string {
  const path = `${prefix}${error.instancePath.replace(/\//g, '.')}`;
  if (error.keyword === 'additionalProperties') return `${path}.${String(error.params.additionalProperty)} is not allowed`;
  if (error.keyword === 'required') return `${path}.${String(error.params.missingProperty)} is required`;
  return `${path} ${error.message ?? 'is invalid'}`;
}

/**
 * Checks an envelope against the envelope schema and its type's data schema. Returns the
 * problems found, e.g. `["data.propensity must be <= 1"]`; an empty list means valid.
 */
export function validateEvent(envelope: unknown): string[] {
  const { envelope: validateEnvelope, data: dataValidators } = schemas();
  const problems: string[] = [];
  if (!validateEnvelope(envelope)) problems.push(...(validateEnvelope.errors ?? []).map((error) => describe('event', error)));
  if (typeof envelope !== 'object' || envelope === null) return problems;
  const { type, data, subject, partitionkey } = envelope as Record<string, unknown>;
  if (partitionkey !== undefined && partitionkey !== subject) problems.push('event.partitionkey must equal event.subject');
  const validateData = isEventType(type) ? dataValidators.get(type) : undefined;
  if (validateData !== undefined && typeof data === 'object' && data !== null && !validateData(data)) {
    problems.push(...(validateData.errors ?? []).map((error) => describe('data', error)));
  }
  return problems;
}

import type { ValidateFunction } from 'ajv';
import { InfermeshError } from '../errors/infermesh-error.js';

/** Parses `text` as JSON and checks it with a compiled schema; INVALID_CONFIG names every problem of `what`. */
export function parseValidatedJson(what: string, text: string, validate: ValidateFunction): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `${what} is not JSON: ${(error as Error).message}`);
  }
  return checkValidatedJson(what, value, validate);
}

/** {@link parseValidatedJson} for a value already parsed (or computed in this process). */
export function checkValidatedJson(what: string, value: unknown, validate: ValidateFunction): unknown {
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
    throw new InfermeshError('INVALID_CONFIG', `${what} is invalid: ${[...new Set(problems)].join('; ')}`);
  }
  return value;
}

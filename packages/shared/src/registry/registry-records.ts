import { Ajv, type ValidateFunction } from 'ajv';
import { NAME_PATTERN } from '../contract/mesh-contract.js';
import { InfermeshError } from '../errors/infermesh-error.js';

/** What `models/{model}/versions/{version}` holds: an immutable pointer to an artifact. */
export interface ArtifactRef {
  uri: string;
  sha256: string;
  /** Runtime format, e.g. `onnx` or `lookup`; from the URI's extension when absent. */
  format?: string;
  /** Free-form facts about the version (training run, metrics, runtime options). */
  metadata: Record<string, unknown>;
}

/** One promotion or rollback, kept for audit. */
export interface DeploymentEvent {
  action: 'promote' | 'rollback';
  version: string;
  at: string;
}

/** What `models/{model}/deployments/{deployment}` holds. */
export interface DeploymentRecord {
  /** The version the deployment's workers should serve. */
  version: string;
  /** Versions served before, most recent first: what rollback returns to. */
  previous: string[];
  updatedAt: string;
  /** Most recent first, capped. */
  history: DeploymentEvent[];
}

const ajv = new Ajv({ allErrors: true });

const validateArtifactRef: ValidateFunction<ArtifactRef> = ajv.compile({
  type: 'object',
  required: ['uri', 'sha256'],
  properties: {
    uri: { type: 'string', minLength: 1 },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    format: { type: 'string' },
    metadata: { type: 'object' },
  },
});

const validateDeployment: ValidateFunction<DeploymentRecord> = ajv.compile({
  type: 'object',
  required: ['version'],
  properties: {
    version: { type: 'string', pattern: NAME_PATTERN.source },
    previous: { type: 'array', items: { type: 'string' } },
    updatedAt: { type: 'string' },
    history: { type: 'array', items: { type: 'object' } },
  },
});

function parse<T>(validate: ValidateFunction<T>, what: string, text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `${what} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!validate(value)) throw new InfermeshError('INVALID_CONFIG', `${what} is invalid: ${ajv.errorsText(validate.errors)}`);
  return value;
}

/** Parses and validates an artifact reference read from the registry. */
export function parseArtifactRef(what: string, text: string): ArtifactRef {
  const ref = parse(validateArtifactRef, what, text);
  return { ...ref, metadata: ref.metadata ?? {} };
}

/** Parses and validates a deployment record read from the registry. */
export function parseDeployment(what: string, text: string): DeploymentRecord {
  const record = parse(validateDeployment, what, text);
  return { version: record.version, previous: record.previous ?? [], updatedAt: record.updatedAt ?? '', history: record.history ?? [] };
}

/** Throws INVALID_ARGUMENT unless `name` fits {@link NAME_PATTERN}. */
export function checkName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InfermeshError('INVALID_ARGUMENT', `invalid ${kind} name '${name}': use letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
}

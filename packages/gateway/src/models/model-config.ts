import { Ajv } from 'ajv';
import { DATATYPES, InfermeshError, NAME_PATTERN, parseValidatedJson, POOL_CONFIG_SCHEMA, type Datatype, type JsonTensorValue, type PoolConfig } from '@infermesh/shared';
import { ENRICHER_CONFIG_SCHEMA, type EnricherConfig } from '../enrichment/enricher-config.js';

/** Types a request input field may have. */
export const INPUT_FIELD_TYPES = ['number', 'integer', 'string', 'boolean', 'number[]', 'string[]'] as const;

/** One field of a prediction request's `inputs`. */
export interface InputFieldSpec {
  type: (typeof INPUT_FIELD_TYPES)[number];
  /** Required unless false or a default is given. */
  required?: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

/** How one input tensor of the worker model is assembled from a request. */
export interface TensorMapping {
  datatype: Datatype;
  /** Shape of one row, without the batch dimension. */
  shape: number[];
  /** Sources of the row's elements, in order: `inputs.<field>`, `features.<name>` or `entity.<key>`. */
  from: string[];
}

/** A model as the gateway serves it: `models/{model}/config`. */
export interface ModelConfig {
  /** Model name on the workers; the gateway's model name when absent. */
  workerModel?: string;
  /** Entity keys every request must carry (e.g. userId): enrichment and stickiness use them. */
  entityKeys: string[];
  inputs: Record<string, InputFieldSpec>;
  enrichers: EnricherConfig[];
  tensors: Record<string, TensorMapping>;
  /** Outputs to return; every output of the model when absent. */
  outputs?: string[];
  /** End-to-end budget of a prediction (enrichment and worker call), milliseconds. */
  deadlineMs: number;
  /** Returned with `default: true` when the deadline passes or no worker is healthy. */
  defaultOutput?: Record<string, JsonTensorValue>;
  pool: PoolConfig;
  /** What the model's `prediction.served` events carry besides the decision. */
  events?: PredictionEventConfig;
  /** How concurrent predictions share worker calls; on by default. */
  batching?: BatchingConfig;
}

/** Bounds of the batches predictions of this model form on their way to a worker. */
export interface BatchingConfig {
  /** False sends every prediction in a call of its own. */
  enabled?: boolean;
  /** Rows one call may carry. */
  maxRows?: number;
  /** Milliseconds a prediction may wait for a call to carry it. */
  maxDelayMs?: number;
}

/** Whether (and how often) prediction events carry the request's inputs and the outputs. */
export interface PredictionEventConfig {
  inputs?: boolean;
  outputs?: boolean;
  /** Share of predictions whose events carry them, in [0, 1]; default 1. */
  sampleRate?: number;
  /** Largest event the inputs and outputs may make, bytes; beyond it they are left out and `truncated` set. */
  maxBytes?: number;
}

/** Default bound of a prediction event carrying inputs and outputs, bytes (well below the publisher's per-event limit). */
export const DEFAULT_EVENT_MAX_BYTES = 16 * 1024;
/** Largest `events.maxBytes` a config may ask for, bytes: the publisher refuses events over 256 KiB. */
const MAX_EVENT_MAX_BYTES = 128 * 1024;

/** Deadline of a prediction when the config names none, milliseconds. */
export const DEFAULT_DEADLINE_MS = 1_000;

const SOURCE_PATTERN = '^(inputs|features|entity)\\.[A-Za-z0-9_.-]+$';

/** JSON Schema of a model config. */
export const MODEL_CONFIG_SCHEMA = {
  type: 'object',
  required: ['tensors', 'pool'],
  additionalProperties: false,
  properties: {
    workerModel: { type: 'string', pattern: NAME_PATTERN.source },
    entityKeys: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
    inputs: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['type'],
        additionalProperties: false,
        properties: {
          type: { enum: INPUT_FIELD_TYPES },
          required: { type: 'boolean' },
          default: {},
          minimum: { type: 'number' },
          maximum: { type: 'number' },
        },
      },
    },
    enrichers: { type: 'array', items: ENRICHER_CONFIG_SCHEMA },
    tensors: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        required: ['datatype', 'shape', 'from'],
        additionalProperties: false,
        properties: {
          datatype: { enum: DATATYPES },
          shape: { type: 'array', items: { type: 'integer', minimum: 1 } },
          from: { type: 'array', minItems: 1, items: { type: 'string', pattern: SOURCE_PATTERN } },
        },
      },
    },
    outputs: { type: 'array', items: { type: 'string' } },
    deadlineMs: { type: 'integer', minimum: 1, maximum: 600_000 },
    defaultOutput: { type: 'object' },
    pool: POOL_CONFIG_SCHEMA,
    batching: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, maxRows: { type: 'integer', minimum: 1, maximum: 4096 }, maxDelayMs: { type: 'number', minimum: 0, maximum: 1_000 } },
    },
    events: {
      type: 'object',
      additionalProperties: false,
      properties: {
        inputs: { type: 'boolean' },
        outputs: { type: 'boolean' },
        sampleRate: { type: 'number', minimum: 0, maximum: 1 },
        maxBytes: { type: 'integer', minimum: 256, maximum: MAX_EVENT_MAX_BYTES },
      },
    },
  },
} as const;

const validateConfig = new Ajv({ allErrors: true }).compile(MODEL_CONFIG_SCHEMA);

/** Parses and validates a model config; INVALID_CONFIG names every problem. */
export function parseModelConfig(model: string, text: string): ModelConfig {
  const value = parseValidatedJson(`config of model '${model}'`, text, validateConfig);
  const config = value as Partial<ModelConfig> & Pick<ModelConfig, 'tensors' | 'pool'>;
  const full: ModelConfig = {
    ...config,
    entityKeys: config.entityKeys ?? [],
    inputs: config.inputs ?? {},
    enrichers: config.enrichers ?? [],
    deadlineMs: config.deadlineMs ?? DEFAULT_DEADLINE_MS,
  };
  checkSources(model, full);
  return full;
}

/** Every tensor source must name a declared input, a feature some enricher provides, or an entity key. */
function checkSources(model: string, config: ModelConfig): void {
  const features = new Set(config.enrichers.flatMap((enricher) => Object.keys(enricher.features)));
  for (const [tensor, mapping] of Object.entries(config.tensors)) {
    for (const source of mapping.from) {
      const [kind, ...rest] = source.split('.');
      const name = rest.join('.');
      const known = kind === 'inputs' ? name in config.inputs : kind === 'features' ? features.has(name) : config.entityKeys.includes(name);
      if (!known) throw new InfermeshError('INVALID_CONFIG', `config of model '${model}': tensor '${tensor}' reads '${source}', which no input, enricher or entity key provides`);
    }
  }
}

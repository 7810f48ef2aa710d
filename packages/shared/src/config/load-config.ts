import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Ajv, type ErrorObject } from 'ajv';
import { InfermeshError } from '../errors/infermesh-error.js';
import type { OptionSpec } from './option-spec.js';

/** Where configuration values come from, lowest precedence first after the defaults. */
export interface ConfigSources {
  /** Command-line arguments after the subcommand. */
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Applied last; what tests and embedding code use. */
  overrides?: Record<string, unknown>;
}

/** Flag that names an optional JSON config file (same keys as the config object). */
export const CONFIG_FILE_FLAG = 'config';

/**
 * Builds one validated config object: defaults → JSON file (`--config`) → environment →
 * command line → overrides. A malformed value stops start-up with a message naming the
 * flag and variable, never a silent fallback.
 */
export function loadConfig<T>(specs: readonly OptionSpec[], sources: ConfigSources): T {
  const flags = parseFlags(specs, sources.argv ?? []);
  const env = sources.env ?? {};
  const configFile = flags[CONFIG_FILE_FLAG] ?? env.INFERMESH_CONFIG;
  const fromFile = typeof configFile === 'string' ? readConfigFile(configFile) : {};

  const merged: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = sources.overrides?.[spec.key] ?? flags[spec.flag] ?? env[spec.env] ?? fromFile[spec.key] ?? spec.default;
    if (value !== undefined && value !== '') merged[spec.key] = value;
  }
  const validate = new Ajv({ coerceTypes: true, allErrors: true, useDefaults: false }).compile(schemaFor(specs));
  if (!validate(merged)) {
    throw new InfermeshError('INVALID_CONFIG', `invalid configuration:\n${(validate.errors ?? []).map((error) => `  - ${describe(error, specs)}`).join('\n')}`);
  }
  return merged as T;
}

function parseFlags(specs: readonly OptionSpec[], argv: readonly string[]): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { [CONFIG_FILE_FLAG]: { type: 'string' } };
  for (const spec of specs) options[spec.flag] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `${(error as Error).message} (see --help)`, { cause: error });
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('top level must be an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new InfermeshError('INVALID_CONFIG', `cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function schemaFor(specs: readonly OptionSpec[]): object {
  const properties: Record<string, object> = {};
  for (const spec of specs) {
    properties[spec.key] = {
      type: spec.type,
      ...(spec.values ? { enum: spec.values } : {}),
      ...(spec.minimum === undefined ? {} : { minimum: spec.minimum }),
      ...(spec.maximum === undefined ? {} : { maximum: spec.maximum }),
    };
  }
  return { type: 'object', properties, required: specs.filter((spec) => spec.required).map((spec) => spec.key) };
}

function describe(error: ErrorObject, specs: readonly OptionSpec[]): string {
  const key = error.keyword === 'required' ? String(error.params.missingProperty) : error.instancePath.slice(1);
  const spec = specs.find((candidate) => candidate.key === key);
  const where = spec ? `--${spec.flag} (${spec.env})` : key;
  if (error.keyword === 'required') return `${where} is required`;
  if (error.keyword === 'enum') return `${where} must be one of ${(spec?.values ?? []).join(', ')}`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/** Help text listing every option, its flag, variable and default. */
export function formatOptionsHelp(specs: readonly OptionSpec[]): string {
  const rows = specs.map((spec) => {
    // Short value lists go in the flag column; long ones in the text, so the column stays narrow.
    const inlineValues = spec.values !== undefined && spec.values.join('|').length <= 12;
    const placeholder = inlineValues ? spec.values!.join('|') : spec.type === 'integer' ? 'n' : 'value';
    const flag = `--${spec.flag}${spec.type === 'boolean' ? '' : ` <${placeholder}>`}`;
    const values = spec.values !== undefined && !inlineValues ? `; one of ${spec.values.join(', ')}` : '';
    const suffix = spec.required ? ' (required)' : spec.default === undefined ? '' : ` (default: ${String(spec.default)})`;
    return { flag, text: `${spec.description}${values}${suffix} [${spec.env}]` };
  });
  rows.push({ flag: `--${CONFIG_FILE_FLAG} <file>`, text: 'JSON file with any of the options above, by property name [INFERMESH_CONFIG]' });
  const width = Math.max(...rows.map((row) => row.flag.length)) + 2;
  return rows.map((row) => `  ${row.flag.padEnd(width)}${row.text}`).join('\n');
}

import { loadConfig, type OptionSpec } from '@infermesh/shared';

/**
 * The validated options `specs` of a command that parses its own arguments: the flags it
 * parsed, else the environment, else the defaults (the config loader's order). Throws
 * INVALID_CONFIG naming the flag and variable of a malformed value.
 */
export function loadCommandOptions<T>(specs: readonly OptionSpec[], flags: Readonly<Record<string, string | boolean | undefined>>, env: NodeJS.ProcessEnv): T {
  const overrides = Object.fromEntries(specs.filter((spec) => flags[spec.flag] !== undefined).map((spec) => [spec.key, flags[spec.flag]]));
  return loadConfig<T>(specs, { env, overrides });
}

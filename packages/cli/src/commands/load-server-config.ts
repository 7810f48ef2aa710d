import { loadConfig, type ConfigSources, type OptionSpec } from '@infermesh/shared';

/**
 * A server command's configuration, loaded and checked before anything starts; undefined after
 * telling the operator on stderr what is wrong (the command then exits with the usage code).
 */
export function loadServerConfig<T>(name: string, specs: readonly OptionSpec[], sources: ConfigSources, check: (config: T) => unknown): T | undefined {
  try {
    const config = loadConfig<T>(specs, sources);
    check(config);
    return config;
  } catch (error) {
    process.stderr.write(`infermesh ${name}: ${(error as Error).message}\n`);
    return undefined;
  }
}

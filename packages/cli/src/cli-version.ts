import { readFileSync } from 'node:fs';

/** infermesh's version, from the CLI package manifest. */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

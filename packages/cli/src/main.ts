#!/usr/bin/env node
import { CLI_VERSION } from './cli-version.js';
import { COMMANDS } from './command-catalog.js';
import { EXIT_USAGE } from './commands/command.js';

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return [
    `infermesh ${CLI_VERSION}: an inference mesh of a gateway and gRPC model workers`,
    '',
    'Usage: infermesh <command> [options]     infermesh <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    process.stdout.write(`${CLI_VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (entry === undefined) {
    process.stderr.write(`infermesh: unknown command '${name}'\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help()}\n`);
    return 0;
  }
  return command.run(rest, env);
}

process.exitCode = await main(process.argv.slice(2), process.env);

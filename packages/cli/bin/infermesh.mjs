#!/usr/bin/env node
// The `infermesh` command. npm links a workspace's bin when it installs dependencies, which
// on a fresh clone is before any TypeScript is compiled: this launcher is committed so the
// link always exists, and it builds the CLI the first time it is run without a build.
// Plain JavaScript because it must run before the build.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  process.stderr.write('[infermesh] first run from this checkout: building the CLI (tsc -b packages/cli)\n');
  // Build output goes to stderr so the command's own stdout stays clean for pipes.
  execFileSync(process.execPath, [tsc, '-b', 'packages/cli'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
}
await import(main.href);

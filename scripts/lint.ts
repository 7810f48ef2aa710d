/**
 * `npm run lint`, and the lint step of `npm test`: ESLint (eslint.config.js: no focused
 * tests, no skipped test without a reason, a few cheap correctness rules, a pure experiments
 * package, no package but the CLI on the gateway or the worker) and madge (no import cycles,
 * no folders of one package importing each other). The cycle check runs in a child process
 * so both use a core each.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runEslint, type EslintOutcome } from './lint/run-eslint.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CYCLE_CHECK = fileURLToPath(new URL('./lint/check-import-cycles.ts', import.meta.url));

function log(line: string): void {
  process.stdout.write(`[lint] ${line}\n`);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

async function main(): Promise<number> {
  const started = performance.now();
  const cycleCheck = spawn(process.execPath, ['--import', 'tsx', CYCLE_CHECK], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const cyclesExit = new Promise<number | null>((resolve, reject) => {
    cycleCheck.once('error', reject);
    cycleCheck.once('close', (code) => resolve(code));
  });
  let eslint: EslintOutcome;
  try {
    eslint = await runEslint();
  } catch (error) {
    cycleCheck.kill();
    throw error;
  }
  if (eslint.report !== '') process.stdout.write(`${eslint.report}\n`);
  log(`eslint: ${eslint.ok ? 'ok' : 'FAILED'}, ${eslint.files} files (${seconds(started)})`);
  const cyclesOk = (await cyclesExit) === 0;
  const ok = eslint.ok && cyclesOk;
  log(`${ok ? 'ok' : 'FAILED'} (${seconds(started)})`);
  return ok ? 0 : 1;
}

process.exitCode = await main();

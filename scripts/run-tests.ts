/**
 * The whole test suite, as `npm test` and CI run it: generated types are current, the
 * project typechecks and lints (scripts/lint.ts), then every test file runs against one
 * real Consul agent and one real Kafka broker (installed on first use, started on free
 * loopback ports, stopped at the end).
 * Arguments narrow the files: `npm test -- worker` runs files whose path contains "worker".
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { startSharedInfra } from '../test/infra/test-infra.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Test files run side by side; most wait on child processes and sockets, not on CPU. */
const TEST_CONCURRENCY = 2;
/** Milliseconds one test file may run. */
const FILE_TIMEOUT_MS = 5 * 60_000;

function log(line: string): void {
  process.stdout.write(`[test] ${line}\n`);
}

function step(name: string, command: string, args: string[]): void {
  const started = Date.now();
  execFileSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  log(`${name}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function findTestFiles(filters: string[]): string[] {
  // bench/ holds unit tests of the benchmarks' own arithmetic (the benchmarks themselves run with
  // npm run bench), scripts/ those of the lint steps' own checks.
  const roots = ['packages', 'test', 'bench', 'scripts'];
  const files = roots.flatMap((root) =>
    readdirSync(join(ROOT, root), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.test.ts') && !path.includes('node_modules') && !path.includes('/dist/'))
      .map((path) => join(ROOT, root, path)),
  );
  return files.filter((file) => filters.length === 0 || filters.some((filter) => relative(ROOT, file).includes(filter))).sort();
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  step('generated proto types are current', tsx, ['scripts/generate-proto-types.ts', '--check']);
  step('typecheck', join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json', '--noEmit']);
  step('lint', tsx, ['scripts/lint.ts']);

  const files = findTestFiles(filters);
  if (files.length === 0) {
    log(`no test files match ${filters.join(' ')}`);
    return 1;
  }
  const infra = await startSharedInfra(log);
  Object.assign(process.env, infra.env);
  let failed = false;
  try {
    log(`running ${files.length} test files`);
    const stream = run({ files, concurrency: TEST_CONCURRENCY, timeout: FILE_TIMEOUT_MS });
    stream.on('test:fail', () => (failed = true));
    await new Promise<void>((resolve, reject) => {
      const reporter = stream.compose(new spec());
      reporter.pipe(process.stdout);
      reporter.on('end', resolve).on('error', reject);
    });
  } finally {
    await infra.stop();
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
